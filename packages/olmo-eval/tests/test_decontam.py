"""Decontamination on a slice of the shared corpus with planted evaluation paragraphs: the planted
documents are found and no others, as an exact string search over the same documents confirms."""

from __future__ import annotations

import gzip
import json
import random

from conftest import read_corpus

from olmo_eval.cli import main
from olmo_eval.decontam import decontaminate, eval_paragraphs
from olmo_eval.tasks import get_task

TASKS = "arc_easy,boolq,hellaswag,winogrande,mmlu_anatomy"


def test_planted_paragraphs_found_and_nothing_else(tmp_path) -> None:
    train = tmp_path / "train"
    rng = random.Random(0)
    planted_ids, planted_instances = set(), {}
    paras = eval_paragraphs(["boolq", "hellaswag", "mmlu_anatomy", "winogrande"])
    by_task: dict[str, list[tuple[str, str]]] = {}
    for para, owners in paras.items():
        for task, inst in owners:
            by_task.setdefault(task, []).append((para, inst))
    all_docs = []
    for source in ("books", "manpages", "python_docs", "code"):
        docs = read_corpus(source, 25)
        for k, d in enumerate(docs):
            if k in (3, 11):  # plant one evaluation paragraph as its own line inside the document
                task = ("boolq", "hellaswag", "winogrande", "mmlu_anatomy")[len(planted_ids) % 4]
                para, inst = rng.choice(by_task[task])
                lines = d["text"].split("\n")
                at = rng.randrange(len(lines) + 1)
                d["text"] = "\n".join(lines[:at] + [para] + lines[at:])
                planted_ids.add(d["id"])
                planted_instances.setdefault(task, set()).add(inst)
        folder = train / source
        folder.mkdir(parents=True)
        with gzip.open(folder / "part-0.jsonl.gz", "wt", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
        all_docs += docs

    assert main(["decontaminate", "--train", str(train), "--out", str(tmp_path / "out"), "--tasks", TASKS,
                 "--no-progress"]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())

    dropped = {d["id"] for d in report["dropped"]}
    assert dropped == planted_ids and len(planted_ids) == 8
    # exact string search, independent of the filter: which documents contain any eval paragraph?
    found = {d["id"] for d in all_docs if any(p in d["text"] for p in paras)}
    assert found == planted_ids
    assert report["documents"] == 100 and report["documents_dropped"] == 8
    assert sum(s["documents_contaminated"] for s in report["per_source"].values()) == 8
    assert report["per_source"]["books"]["documents_contaminated"] == 2

    flags = json.loads((tmp_path / "out" / "clean_flags.json").read_text())
    for task, insts in planted_instances.items():
        assert {i for i, ok in flags[task].items() if not ok} == insts
        assert report["per_task"][task]["instances_contaminated"] == len(insts)
    assert all(flags["arc_easy"].values())
    kept = []
    for source in ("books", "manpages", "python_docs", "code"):
        with gzip.open(tmp_path / "out" / "clean" / source / "part-0.jsonl.gz", "rt") as f:
            kept += [json.loads(line)["id"] for line in f]
    assert len(kept) == 92 and not set(kept) & planted_ids
    # eval documents were exported with only paragraphs of at least 13 words
    with gzip.open(tmp_path / "out" / "eval_documents" / "boolq.jsonl.gz", "rt") as f:
        first = json.loads(f.readline())
    assert all(len(p.split()) >= 13 for p in first["text"].split("\n"))
    assert first["id"] == f"boolq/{get_task('boolq').instances()[0].id}"

    # a rerun resumes from the per-file stats and reports the same
    again = decontaminate(train, tmp_path / "out", tasks=TASKS)
    assert {d["id"] for d in again["dropped"]} == planted_ids
