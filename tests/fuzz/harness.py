"""Run a CLI's ``main(argv)`` in this process on mutated inputs and judge each run.

A run passes when:
- no exception escaped ``main`` and stderr holds no ``Traceback``;
- the exit status agrees with the oracle: 0 for a still-valid input, non-zero for an invalid one
  (``None``, undecided: either, but a refusal must still be a clear one);
- a refusal (on stderr, or in the run summary on stdout) names the file (its base name) and, for text formats, where in it: a line number or
  one of the fields the caller lists;
- the input is byte-identical afterwards and no temporary (``*.tmp-*``) is left in the output folder.

Counts and seeds are printed (``pytest -s`` shows them; CI logs keep them) so a failure replays."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

LINE = re.compile(r"line \d+|:\d+\b")


@dataclass
class Outcome:
    rc: int | None
    stdout: str
    stderr: str
    traceback: str | None


def invoke(main: Callable[[list[str]], int | None], argv: Sequence[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    tb = None
    rc: int | None
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(list(argv))
    except SystemExit as e:  # argparse's usage errors
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - an escaped exception is the failure this looks for
        rc, tb = None, traceback.format_exc()
    return Outcome((rc or 0) if tb is None else None, out.getvalue(), err.getvalue(), tb)


def digest(path: Path) -> str:
    if path.is_dir():
        h = hashlib.sha256()
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(p.relative_to(path).as_posix().encode() + p.read_bytes())
        return h.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def temporaries(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".tmp-" in p.name or ".partial" in p.name)


@dataclass
class Tally:
    """What one CLI's fuzz test tried: printed at the end, the figures the READMEs quote."""

    name: str
    seed: int
    tried: int = 0
    refused: int = 0
    accepted: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"fuzz {self.name}: seed={self.seed} inputs={self.tried} refused={self.refused} "
                f"accepted={self.accepted} problems={len(self.problems)}")


def judge(tally: Tally, label: str, outcome: Outcome, *, target: Path, valid: bool | None,
          untouched: Iterable[tuple[Path, str]] = (), out_dir: Path | None = None,
          where: Sequence[str] = (), binary: bool = False) -> None:
    """Record one run in ``tally``; every broken promise becomes a line in ``tally.problems``.

    ``where``: field names a refusal may cite instead of a line number; ``binary``: the file has no
    lines or fields to cite, naming it is enough."""
    tally.tried += 1
    bad = tally.problems.append
    # Some commands report per-file failures in their summary on stdout; the message may be in either.
    err = outcome.stderr + outcome.stdout
    if outcome.traceback is not None or "Traceback" in err:
        bad(f"{label}: traceback\n{outcome.traceback or err}"[-3000:])
        return
    if outcome.rc == 0:
        tally.accepted += 1
        if valid is False:
            bad(f"{label}: invalid input accepted (exit 0)")
    else:
        tally.refused += 1
        if valid is True:
            bad(f"{label}: valid input refused: {err.strip()[-600:]}")
        if target.name not in err:
            bad(f"{label}: refusal does not name {target.name}: {err.strip()[-600:]}")
        elif not binary and not LINE.search(err) and not any(w in err for w in where):
            bad(f"{label}: refusal names no line or field: {err.strip()[-600:]}")
    for path, before in untouched:
        if digest(path) != before:
            bad(f"{label}: input {path} changed")
    if out_dir is not None and (left := temporaries(out_dir)):
        bad(f"{label}: temporaries left in {out_dir}: {left[:5]}")


def finish(tally: Tally) -> None:
    print(tally)
    assert not tally.problems, f"{tally}\n" + "\n".join(tally.problems)


@dataclass
class Case:
    """One CLI fuzzed through one of its input files.

    ``setup(work)`` lays the real inputs out under ``work/in`` and returns the file to mutate;
    ``argv(work)`` the command line (outputs under ``work/out``); ``oracle(bytes)`` whether a
    mutated file is still valid input (True, False, or None: undecided)."""

    name: str
    main: Callable[[list[str]], int | None]
    setup: Callable[[Path], Path]
    argv: Callable[[Path], list[str]]
    oracle: Callable[[bytes], bool | None]
    where: Sequence[str] = ()
    binary: bool = False
    #: output files that record times or absolute paths, left out of the rerun comparison
    volatile: Sequence[str] = ()
    #: how the bytes on disk come from a mutated payload (e.g. gzip for a .jsonl.gz shard)
    encode: Callable[[bytes], bytes] = staticmethod(lambda b: b)
    #: run in the case's folder (for configs holding relative paths)
    chdir: bool = False
    #: called with the mutated file after it is written (e.g. to re-seal a checkpoint's manifest, so
    #: the damage reaches the reader and not only the manifest check)
    after_write: Callable[[Path], None] | None = None


def run_case(case: Case, mutated: Iterable[tuple[str, bytes]], tmp: Path, seed: int, *,
             rerun_check: bool = True) -> Tally:
    """Run ``case`` on every ``(label, payload)``. After the first refusal, the original inputs are put
    back and the command rerun in the same folder: its outputs must equal a clean run's, so nothing
    the refused run left behind passes for finished work."""
    from fnmatch import fnmatch

    tally = Tally(case.name, seed)
    rerun_done = not rerun_check
    for i, (label, payload) in enumerate(mutated):
        work = tmp / f"{i:03d}"
        target = case.setup(work)
        originals = {p: p.read_bytes() for p in (work / "in").rglob("*") if p.is_file()}
        target.write_bytes(case.encode(payload))
        if case.after_write is not None:
            case.after_write(target)
        inputs = [(p, digest(p)) for p in sorted((work / "in").rglob("*")) if p.is_file()]
        outcome = _invoke_in(case, work)
        judge(tally, f"{case.name} {label}", outcome, target=target, valid=case.oracle(payload),
              untouched=inputs, out_dir=work / "out", where=case.where, binary=case.binary)
        if not rerun_done and outcome.rc not in (0, None):
            rerun_done = True
            for p, data in originals.items():  # the inputs as they were (a re-sealed manifest too)
                p.write_bytes(data)
            again = _invoke_in(case, work)
            clean_dir = tmp / "clean"
            case.setup(clean_dir)
            clean = _invoke_in(case, clean_dir)
            if again.rc != 0 or clean.rc != 0:
                tally.problems.append(f"{case.name} {label}: rerun on the original input failed: "
                                      f"{(again.traceback or again.stderr or clean.traceback or clean.stderr)[-800:]}")
            else:
                def outputs(root: Path) -> dict[str, str]:
                    return {k: v for k, v in _tree(root / "out", root).items()
                            if not any(fnmatch(k, pat) for pat in case.volatile)}
                if outputs(work) != outputs(clean_dir):
                    a, b = outputs(work), outputs(clean_dir)
                    diff = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                    tally.problems.append(f"{case.name} {label}: after a refusal, a rerun on the original "
                                          f"input differs from a clean run in {diff[:6]}")
    return tally


def _invoke_in(case: Case, work: Path) -> Outcome:
    if not case.chdir:
        return invoke(case.main, case.argv(work))
    here = os.getcwd()
    os.chdir(work)
    try:
        return invoke(case.main, case.argv(work))
    finally:
        os.chdir(here)


def _tree(root: Path, work: Path) -> dict[str, str]:
    """Digest of every file under ``root``, with the case's own folder in paths written into the
    files (documents' origins, sidecars) replaced by a placeholder, gzip content compared decompressed."""
    if not root.exists():
        return {}
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name.endswith(".gz"):
                data = gzip.decompress(data)
            out[p.relative_to(root).as_posix()] = hashlib.sha256(
                data.replace(str(work).encode(), b"<WORK>")).hexdigest()
    return out
