"""Task examples from a family: seeded draws, splits disjoint by construction, JSON-ready records.

A problem's split is a function of its canonical content (``Problem.key``): sha256 of
``family|key`` puts ``HELDOUT_PERCENT`` of all problems in ``heldout`` and the rest in ``train``.
A draw that lands in the other split is skipped, so whatever the seeds, sizes or knobs, no problem
can be in both splits. Each kept draw records its own seed: ``family.sample(random.Random(seed),
family.knobs(**difficulty))`` redraws it exactly.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from open_instruct.tasks.registry import KnobError, TaskFamily, get_family

__all__ = ["HELDOUT_PERCENT", "SPLITS", "check_response", "example_from_record", "generate_examples",
           "read_examples", "split_of"]

SPLITS = ("train", "heldout")
HELDOUT_PERCENT = 20
#: draws allowed per requested example before the problem space counts as exhausted
_DRAWS_PER_EXAMPLE = 40


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(family: str, key: str) -> str:
    """The split a problem belongs to, from its canonical content alone."""
    return "heldout" if int(_digest(f"{family}|{key}")[:8], 16) % 100 < HELDOUT_PERCENT else "train"


def draw_seed(seed: int, family: str, split: str, draw: int) -> int:
    """The seed of the ``draw``-th draw: independent streams per (seed, family, split)."""
    return int(_digest(f"{seed}|{family}|{split}|{draw}")[:15], 16)


def _record(family: TaskFamily, knobs: Any, split: str, seed: int, problem) -> dict[str, Any]:
    import dataclasses

    return {
        "id": f"{family.name}-{_digest(f'{family.name}|{problem.key}')[:12]}",
        "family": family.name,
        "generator": family.generator,
        "seed": seed,
        "difficulty": dataclasses.asdict(knobs),
        "split": split,
        "messages": [{"role": "user", "content": problem.prompt},
                     {"role": "assistant", "content": problem.answer}],
        "answer": problem.answer,
        "verifier": {"name": problem.verifier, "args": problem.args},
    }


def generate_examples(family: str, split: str, n: int, seed: int, **difficulty: Any) -> list[dict[str, Any]]:
    """``n`` distinct problems of ``family`` in ``split``, as records (see the package docstring);
    the same arguments always give the same records."""
    fam = get_family(family)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    knobs = fam.knobs(**difficulty)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    limit = _DRAWS_PER_EXAMPLE * n + 100
    draw = 0
    while len(out) < n:
        if draw >= limit:
            raise KnobError(family, fam.grows_with,
                            f"only {len(out)} distinct {split} problems in {limit} draws for n={n} with "
                            f"{knobs}: the problem space is too small; raise {fam.grows_with!r} or ask for fewer")
        s = draw_seed(seed, family, split, draw)
        draw += 1
        problem = fam.sample(random.Random(s), knobs)
        if problem.key in seen or split_of(family, problem.key) != split:
            continue
        seen.add(problem.key)
        out.append(_record(fam, knobs, split, s, problem))
    return out


def check_response(example: dict[str, Any], response: str):
    """Judge ``response`` to a task example with the verifier the example names."""
    from open_instruct.verifiers import verify

    spec = example["verifier"]
    return verify(spec["name"], response, **spec.get("args", {}))


def example_from_record(record: dict[str, Any], *, where: str = "") -> dict[str, Any]:
    """Check that a record is a task example (the fields ``check_response``, the trainers and the
    samplers read): ``id``, ``family``, ``answer``, a ``verifier`` ``{name, args}`` and ``messages``
    whose turns parse and open with a user (or system) turn, the prompt generation starts from."""
    from open_instruct.interfaces import DataFormatError, parse_messages

    if not isinstance(record, dict):
        raise DataFormatError("must be a JSON object", where=where)
    for field, kind in (("id", str), ("family", str), ("messages", list), ("answer", str), ("verifier", dict)):
        if not isinstance(record.get(field), kind):
            raise DataFormatError(f"missing or not a {kind.__name__}", where=where, field=field)
    turns = parse_messages(record["messages"], where=where)
    if turns[0].role == "assistant":
        raise DataFormatError("must open with a user (or system) turn", where=where, field="messages")
    if not isinstance(record["verifier"].get("name"), str) or not isinstance(record["verifier"].get("args", {}), dict):
        raise DataFormatError("must be {name: str, args: object}", where=where, field="verifier")
    return record


def read_examples(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Task examples from a JSON-lines file, as written (``datasets`` would merge the differing
    ``difficulty`` and ``verifier.args`` of several families into one schema, adding nulls): the
    first ``limit`` of them, or all. The one reader of the format: SFT data aside, every consumer of
    task files (GRPO prompts, on-policy sampling, held-out evaluation) reads them here."""
    from open_instruct.interfaces import DataFormatError

    path = Path(path)
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if limit is not None and len(out) >= limit:
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(f"malformed JSON ({e.msg} at column {e.colno})", where=f"{path}:line {n}") from None
            out.append(example_from_record(record, where=f"{path}:line {n}"))
    return out
