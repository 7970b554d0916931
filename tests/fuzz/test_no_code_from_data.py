"""No code from data, checked over the source tree (packages/*/src, src, tools): nothing unpickles a
checkpoint with ``weights_only=False`` or plain ``pickle``, and nothing imports a module by a name
read from a config or a checkpoint.

The few imports by name that remain are listed below with why each is safe; a new one fails this
test until it is reviewed and listed."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = [*sorted((REPO / "packages").glob("*/src")), REPO / "src", REPO / "tools"]

#: (file relative to the repository, the line's code) -> why it is safe
IMPORT_ALLOW = {
    # the CLIs import a subcommand's module from their own static COMMANDS table; argv only picks a key
    ("packages/dolma-tools/src/dolma_tools/cli.py", "module = importlib.import_module(COMMANDS[name][0])"): "static table",
    ("packages/olmo-core/src/olmo_core/dispatch.py", "module = importlib.import_module(commands[name][0])"): "static table",
    ("packages/dolma-tools/src/dolma_tools/dedupe/__init__.py", "return getattr(importlib.import_module(_WHERE[name]), name)"):
        "static table (lazy names of the package)",
    ("packages/open-instruct/src/open_instruct/train/run.py", "return importlib.import_module(METHODS[kind])"):
        "static table (kind is checked against it first)",
    # Bloom dedup's hashing worker: the parent and the worker it started talk over the worker's own
    # stdin/stdout pipes, and the worker's spool files live in a mkdtemp (0700) folder of this run
    # (dedupe.workdir): our own intermediates, never input data
    ("packages/dolma-tools/src/dolma_tools/dedupe/hash_worker.py", "path, out, settings = pickle.load(requests)"):
        "own worker's pipe",
    ("packages/dolma-tools/src/dolma_tools/dedupe/spool.py", "status, value = pickle.load(self.proc.stdout)"):
        "own worker's pipe",
    ("packages/dolma-tools/src/dolma_tools/dedupe/spool.py", "yield pickle.load(f)"): "own private spool file",
    ("packages/olmo-eval/src/olmo_eval/cli.py", "module = importlib.import_module(COMMANDS[name][0])"): "static table",
    ("packages/olmoe/src/olmoe/cli.py", "module = importlib.import_module(COMMANDS[name][0])"): "static table",
    # optional vendor libraries for GPU energy, called only with the literals "pynvml" and "amdsmi"
    ("src/olmo_stack/energy/gpu.py", "return importlib.import_module(name)"): "literal names",
    # the registered plug-in loader: entry points of installed distributions, never a name from data
    ("packages/olmo-core/src/olmo_core/plugins.py", "ep.load()"): "plug-ins",
}

RULES = {
    "weights_only=False": re.compile(r"weights_only\s*=\s*False"),
    "torch.load without weights_only=True": re.compile(r"torch\.load\((?![^)]*weights_only\s*=\s*True)"),
    "plain pickle load": re.compile(r"\bpickle\.loads?\(|\bcloudpickle\.|\bdill\.|\bjoblib\.load\("),
    "unsafe YAML": re.compile(r"\byaml\.(load|unsafe_load|full_load)\(|yaml\.Loader\b|yaml\.UnsafeLoader\b"),
    "NumPy pickles": re.compile(r"allow_pickle\s*=\s*True"),
    "remote code": re.compile(r"trust_remote_code\s*=\s*True"),
    "import by name": re.compile(r"\bimport_module\(|\b__import__\(|\bep\.load\(|\.load\(\)\s*#.*imports|pydoc\.locate|"
                                 r"hydra\.utils\.(instantiate|get_class|get_method|call)|\b_target_\b"),
}


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The file's lines with strings and comments blanked (Python's tokenizer finds them), so prose in
    docstrings and messages that names a forbidden call is not taken for one."""
    source = path.read_text(encoding="utf-8")
    lines = [list(line) for line in source.splitlines()]
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.STRING, tokenize.COMMENT):
            continue
        (r0, c0), (r1, c1) = tok.start, tok.end
        for r in range(r0, r1 + 1):
            row = lines[r - 1]
            lo, hi = (c0 if r == r0 else 0), (c1 if r == r1 else len(row))
            row[lo:hi] = " " * (hi - lo)
    return [(n, "".join(row).strip()) for n, row in enumerate(lines, start=1) if "".join(row).strip()]


def test_no_unsafe_loads_and_no_imports_by_name() -> None:
    found, files, allowed = [], 0, set()
    for root in ROOTS:
        for path in sorted(root.rglob("*.py")):
            files += 1
            rel = path.relative_to(REPO).as_posix()
            for n, line in _code_lines(path):
                for rule, pattern in RULES.items():
                    if pattern.search(line):
                        if (rel, line) in IMPORT_ALLOW:
                            allowed.add((rel, line))
                        else:
                            found.append(f"{rel}:{n}: {rule}: {line}")
    print(f"no-code-from-data grep: {files} files, {len(found)} findings")
    assert files > 200, "the source tree was not found"
    # each allowed line was seen and matched: the scan reads real code, not only the docstrings it skips
    assert allowed == set(IMPORT_ALLOW), set(IMPORT_ALLOW) - allowed
    assert not found, "\n".join(found)


def test_the_allow_list_is_current() -> None:
    """Every allowed line still exists: a stale entry would hide a new line of the same file."""
    for rel, line in IMPORT_ALLOW:
        assert line in {code for _n, code in _code_lines(REPO / rel)}, f"{rel}: {line!r} is gone; drop it from the list"


def test_the_rules_catch_what_they_are_for() -> None:
    """The patterns match the forms they forbid (a grep that matches nothing cannot fail)."""
    bad = ["torch.load(path, weights_only=False)", "torch.load(f)", "obj = pickle.loads(blob)",
           "yaml.load(text, Loader=yaml.Loader)", "np.load(p, allow_pickle=True)",
           "AutoModel.from_pretrained(p, trust_remote_code=True)", "mod = importlib.import_module(cfg.target)",
           "cls = __import__(name)", "hydra.utils.instantiate(cfg)"]
    for line in bad:
        assert any(p.search(line) for p in RULES.values()), line
    for line in ["torch.load(path, weights_only=True, map_location='cpu')", "yaml.safe_load(text)",
                 "np.load(path, mmap_mode='r')"]:
        assert not any(p.search(line) for p in RULES.values()), line
