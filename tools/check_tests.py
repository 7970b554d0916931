"""Tests that can fail: every test function asserts something, and no parametrized case returns early.

    uv run python tools/check_tests.py              # every tests/ folder of the repository; exit 1 on a finding
    uv run python tools/check_tests.py PATH ...     # these files or folders

A test function (``test_*`` in a ``test_*.py`` file) passes the check when its body, or a helper it
calls, asserts: an ``assert`` statement, ``pytest.raises`` / ``pytest.warns`` / ``pytest.fail``, a call
of an ``assert*`` function (``torch.testing.assert_close``, ``np.testing.assert_array_equal``,
``self.assertEqual``), or a call of a function defined in the scanned test code (its own module, a
conftest, a helper module beside the tests) that asserts in one of these ways, followed through any
depth of helpers. A bare ``return`` (or ``pytest.skip``) inside a parametrized test is a finding too:
that case reports PASSED while testing nothing, so it belongs out of the parametrization. Two test
modules of one folder tree (a package's ``tests/``, the root's ``tests/``) with the same file name,
neither inside a Python package (no ``__init__.py`` beside it), are a finding too: pytest's default
import mode imports both as the same top-level module and stops the whole suite at collection. Reads
the source with ``ast``; nothing is imported or run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSERTING_ATTRS = {"raises", "warns", "fail", "deprecated_call"}  # pytest.<name>


def test_roots(repo: Path = REPO) -> list[Path]:
    roots = [repo / "tests", *sorted(repo.glob("packages/*/tests"))]
    return [r for r in roots if r.is_dir()]


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*.py") if ".venv" not in f.parts)
        elif p.suffix == ".py":
            yield p


def _call_name(call: ast.Call) -> tuple[str | None, str]:
    """(object name or None, called name) of ``f(...)``, ``mod.f(...)`` or ``a.b.f(...)``."""
    func = call.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        base = func.value
        return (base.id if isinstance(base, ast.Name) else None), func.attr
    return None, ""


def _direct_assert(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assert):
            return True
        if isinstance(sub, ast.Call):
            owner, name = _call_name(sub)
            if name.startswith("assert") or name.startswith("assert_"):
                return True
            if owner == "pytest" and name in ASSERTING_ATTRS:
                return True
    return False


def _called_names(node: ast.AST) -> set[str]:
    return {_call_name(sub)[1] for sub in ast.walk(node) if isinstance(sub, ast.Call)}


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _is_parametrized(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Attribute) and target.attr == "parametrize":
            return True
    return False


def _early_exits(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[int]:
    """Lines of bare ``return`` / ``pytest.skip`` in the test's own body (not in nested functions)."""
    lines = []
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Return) and node.value is None:
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and _call_name(node) == ("pytest", "skip"):
            lines.append(node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(lines)


def basename_clashes(paths: Iterable[Path]) -> list[str]:
    """Test modules outside Python packages that share a file name within one of ``paths``."""
    findings = []
    for root in (p for p in paths if p.is_dir()):
        seen: dict[str, Path] = {}
        for f in python_files([root]):
            if not f.name.startswith("test_") or (f.parent / "__init__.py").exists():
                continue
            if f.name in seen:
                findings.append(f"{f}:1: test module name {f.name!r} is also {seen[f.name]}: pytest imports both as "
                                f"module {f.stem!r} and stops at collection; rename one")
            else:
                seen[f.name] = f
    return findings


def check(paths: Iterable[Path]) -> list[str]:
    """Findings as ``file:line: message``."""
    paths = list(paths)
    trees = {}
    for f in python_files(paths):
        try:
            trees[f] = ast.parse(f.read_text(), str(f))
        except SyntaxError as e:
            raise SystemExit(f"{f}:{e.lineno}: cannot parse: {e.msg}") from e
    # Which helper names assert, directly or through other helpers (a fixed point over all scanned code).
    bodies: dict[str, list[ast.AST]] = {}
    for tree in trees.values():
        for fn in _functions(tree):
            bodies.setdefault(fn.name, []).append(fn)
    asserting = {name for name, fns in bodies.items() if any(_direct_assert(fn) for fn in fns)}
    changed = True
    while changed:
        changed = False
        for name, fns in bodies.items():
            if name not in asserting and any(_called_names(fn) & asserting for fn in fns):
                asserting.add(name)
                changed = True
    findings = []
    for f, tree in trees.items():
        if not f.name.startswith("test_"):
            continue
        for fn in _functions(tree):
            if not fn.name.startswith("test_"):
                continue
            if not (_direct_assert(fn) or _called_names(fn) & asserting):
                findings.append(f"{f}:{fn.lineno}: {fn.name} asserts nothing (no assert, pytest.raises or "
                                "asserting helper)")
            if _is_parametrized(fn):
                for line in _early_exits(fn):
                    findings.append(f"{f}:{line}: {fn.name} is parametrized and returns or skips early here: "
                                    "that case passes while testing nothing; take it out of the parametrization")
    return findings + basename_clashes(paths)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", type=Path, help="files or folders (default: every tests/ folder)")
    args = ap.parse_args(argv)
    paths = args.paths or test_roots()
    findings = check(paths)
    for line in findings:
        print(line)
    n = sum(1 for _ in python_files(paths))
    print(f"{len(findings)} finding(s) in {n} file(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
