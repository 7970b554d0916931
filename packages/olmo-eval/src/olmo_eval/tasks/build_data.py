"""Compile the shipped task data from HF datasets saved to disk (``../shared/data/eval``).

Run once when the task set changes; the package then never needs the source datasets::

    python -m olmo_eval.tasks.build_data --src ../shared/data/eval
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from olmo_eval.files import write_jsonl
from olmo_eval.tasks.data import DATA_FORMAT, DATA_VERSION, SAMPLE_SEED, data_dir, olmes_sample

#: name -> (path under src, licence, sample with OLMES rule?, held-out few-shot count)
DATASETS: dict[str, tuple[str, str, bool, int]] = {
    "arc_easy": ("ai2_arc/ARC-Easy/validation", "CC BY-SA 4.0", True, 0),
    "arc_challenge": ("ai2_arc/ARC-Challenge/validation", "CC BY-SA 4.0", True, 0),
    "boolq": ("boolq/none/validation", "CC BY-SA 3.0", True, 0),
    "copa": ("super_glue/copa/validation", "BSD-2-Clause", True, 5),
    "hellaswag": ("hellaswag/none/validation", "MIT", True, 0),
    "openbookqa": ("openbookqa/main/validation", "Apache-2.0", True, 0),
    "piqa": ("piqa/plain_text/validation", "AFL-3.0", True, 0),
    "sciq": ("sciq/none/validation", "CC BY-NC 3.0", True, 5),
    "winogrande": ("winogrande/winogrande_xl/validation", "CC BY 4.0", True, 0),
}
MMLU_PATH = "hails/mmlu_no_train"


def _jsonable(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(doc, ensure_ascii=False, default=str))


def _write(path: Path, header: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    write_jsonl(path, [header, *rows], gzip_level=9, compact=True)


def build(src: Path, out: Path) -> dict[str, int]:
    import datasets

    counts: dict[str, int] = {}
    for name, (rel, licence, sample, n_fewshot) in DATASETS.items():
        ds = datasets.load_from_disk(str(src / rel))
        docs = [_jsonable(d) for d in ds]
        pool = list(range(len(docs)))
        fewshot: list[int] = []
        if n_fewshot:
            # OLMES has no curated examples here and the train split is not shipped: hold a fixed
            # draw out of the evaluation split instead, so no example is scored with itself as a shot.
            fewshot = random.Random(SAMPLE_SEED).sample(pool, n_fewshot)
            pool = [i for i in pool if i not in set(fewshot)]
        order = [pool[j] for j in olmes_sample(pool)] if sample else pool
        rows = [{"i": i, "role": "fewshot", "doc": docs[i]} for i in fewshot]
        rows += [{"i": i, "role": "eval", "doc": docs[i]} for i in order]
        header = {"format": DATA_FORMAT, "version": DATA_VERSION, "dataset": name, "source": rel,
                  "split": "validation", "num_source": len(docs), "num_eval": len(order),
                  "sampling": "OLMES: random.Random(1234).sample(n=1000) when the split has > 1500",
                  "licence": licence}
        _write(out / f"{name}.jsonl.gz", header, rows)
        counts[name] = len(order)
    rows = []
    subjects = sorted(p.name for p in (src / MMLU_PATH).iterdir() if p.is_dir())
    for subject in subjects:
        for split, role in (("dev", "fewshot"), ("test", "eval")):
            ds = datasets.load_from_disk(str(src / MMLU_PATH / subject / split))
            # MMLU is run in full per subject, as OLMES's task specs do (no limit).
            rows += [{"i": i, "role": role, "doc": _jsonable(d)} for i, d in enumerate(ds)]
    header = {"format": DATA_FORMAT, "version": DATA_VERSION, "dataset": "mmlu", "source": MMLU_PATH,
              "split": "test (few-shot: dev)", "subjects": subjects, "licence": "MIT"}
    _write(out / "mmlu.jsonl.gz", header, rows)
    counts["mmlu"] = sum(r["role"] == "eval" for r in rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, default=Path("../shared/data/eval"))
    parser.add_argument("--out", type=Path, default=data_dir())
    args = parser.parse_args(argv)
    for name, n in build(args.src, args.out).items():
        print(f"{name}: {n} evaluation documents")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
