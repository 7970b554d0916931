"""A task suite on disk: ``train.jsonl`` and ``heldout.jsonl`` with every family's examples, plus
``suite.json`` (seed, sizes, knobs, generators and the files' sha256), each written atomically
through olmo-core's one atomic-write helper."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from olmo_core.fileio import write_atomic, write_json_atomic
from open_instruct.tasks.generate import generate_examples
from open_instruct.tasks.registry import FAMILIES, get_family

__all__ = ["build_suite", "dumps_jsonl"]


def dumps_jsonl(records: Sequence[Mapping[str, Any]]) -> str:
    """One record per line, keys in insertion order, non-ASCII kept: the same records give the same bytes."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def build_suite(out_dir: str | Path, *, families: Sequence[str] | None = None, train_per_family: int,
                heldout_per_family: int, seed: int = 0, **difficulty: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``out_dir/train.jsonl`` and ``out_dir/heldout.jsonl`` (and ``suite.json``).

    ``families``: names of registered families (default: all, in name order). ``difficulty``: knobs per
    family, e.g. ``build_suite(out, train_per_family=2000, heldout_per_family=200,
    arithmetic={"digits": 3}, sorting={"length": 6})``. The training examples of all families are
    shuffled together (seeded); held-out examples stay grouped by family."""
    names = sorted(FAMILIES) if families is None else list(families)
    for name in names:
        get_family(name)  # unknown -> KeyError naming the known ones
    for name in difficulty:
        if name not in names:
            raise KeyError(f"difficulty given for {name!r}, which is not among the suite's families "
                           f"({', '.join(names)})")
        if not isinstance(difficulty[name], Mapping):
            raise TypeError(f"difficulty for {name!r} must be a mapping of knobs, got {difficulty[name]!r}")
    out = Path(out_dir)
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "heldout": []}
    knobs: dict[str, dict[str, Any]] = {}
    for name in names:
        for split, n in (("train", train_per_family), ("heldout", heldout_per_family)):
            records = generate_examples(name, split, n, seed, **dict(difficulty.get(name, {})))
            splits[split].extend(records)
            if records:
                knobs[name] = records[0]["difficulty"]
    random.Random(seed).shuffle(splits["train"])
    paths, digests = {}, {}
    for split, records in splits.items():
        text = dumps_jsonl(records)
        paths[split] = write_atomic(out / f"{split}.jsonl", text)
        digests[split] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    write_json_atomic(out / "suite.json", {
        "seed": seed, "families": names, "train_per_family": train_per_family,
        "heldout_per_family": heldout_per_family, "difficulty": knobs,
        "generators": {n: FAMILIES[n].generator for n in names},
        "sha256": digests,
    })
    return paths
