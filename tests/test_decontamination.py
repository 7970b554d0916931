"""Decontamination across the packages, through files only: olmo-eval exports its eval instances as
Dolma documents, ``dolma-tools decontaminate`` indexes them and drops the training documents holding
an eval paragraph, olmo-eval reads the per-instance flags back. Graded by exact string search; the
index is keyed by the export's content, so another task set rebuilds it and changes the results."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import zstandard

from dolma_tools.cli import main as dolma_main
from dolma_tools.decont import decontaminate
from olmo_eval.cli import main as eval_main
from olmo_eval.decontam import export_eval_documents, read_contamination
from olmo_eval.tasks import get_task
from olmo_stack.pipeline.data import builtin_path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MIN_WORDS = 13


def _corpus(source: str, n: int) -> list[dict]:
    path = sorted((SHARED / "corpus" / source).glob("*.jsonl.zst"))[0]
    with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as r:
        lines = r.read().decode("utf-8").splitlines()
    return [json.loads(line) for line in lines[:n]]


def _paragraphs(tasks: list[str]) -> dict[str, list[tuple[str, str]]]:
    """paragraph (>= 13 words) -> [(task, instance id)], straight from the tasks."""
    table: dict[str, list[tuple[str, str]]] = {}
    for task in tasks:
        for inst in get_task(task).instances():
            for p in dict.fromkeys(inst.texts):
                if len(p.split()) >= MIN_WORDS:
                    table.setdefault(p, []).append((task, inst.id))
    return table


def _plant(train: Path, tasks: list[str], rng: random.Random) -> tuple[list[dict], set[str], dict[str, set[str]]]:
    """100 corpus documents in four sources; documents 3 and 11 of each get one eval paragraph."""
    by_task: dict[str, list[tuple[str, str]]] = {}
    for para, owners in _paragraphs(tasks).items():
        for task, inst in owners:
            by_task.setdefault(task, []).append((para, inst))
    planted, instances, all_docs = set(), {}, []
    for source in ("books", "manpages", "python_docs", "code"):
        docs = _corpus(source, 25)
        for k, d in enumerate(docs):
            if k in (3, 11):
                task = tasks[len(planted) % len(tasks)]
                para, inst = rng.choice(by_task[task])
                lines = d["text"].split("\n")
                at = rng.randrange(len(lines) + 1)
                d["text"] = "\n".join(lines[:at] + [para] + lines[at:])
                planted.add(d["id"])
                instances.setdefault(task, set()).add(inst)
        (train / source).mkdir(parents=True, exist_ok=True)
        with gzip.open(train / source / "part-0.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(d) + "\n" for d in docs)
        all_docs += docs
    return all_docs, planted, instances


def test_planted_paragraphs_found_and_nothing_else(tmp_path: Path) -> None:
    train, out = tmp_path / "train", tmp_path / "decon"
    tasks = "arc_easy,boolq,hellaswag,winogrande,mmlu_anatomy"
    docs, planted, instances = _plant(train, ["boolq", "hellaswag", "winogrande", "mmlu_anatomy"], random.Random(0))

    assert eval_main(["decontaminate", "export", "--tasks", tasks, "--out", str(out / "eval_documents")]) == 0
    assert dolma_main(["decontaminate", "--eval-documents", str(out / "eval_documents"), "--documents", str(train),
                       "--destination", str(out), "--no-progress"]) == 0
    assert eval_main(["decontaminate", "flags", "--tasks", tasks, "--decontaminated", str(out)]) == 0

    report = json.loads((out / "report.json").read_text())
    dropped = {d["id"] for d in report["contaminated"]}
    assert dropped == planted and len(planted) == 8
    paras = _paragraphs(["arc_easy", "boolq", "hellaswag", "winogrande", "mmlu_anatomy"])
    assert {d["id"] for d in docs if any(p in d["text"].split("\n") for p in paras)} == planted
    assert report["documents"] == 100 and report["documents_dropped"] == 8
    assert report["per_source"]["books"]["documents_contaminated"] == 2

    flags = json.loads((out / "clean_flags.json").read_text())
    for task, insts in instances.items():
        assert {i for i, ok in flags[task].items() if not ok} == insts
    assert all(flags["arc_easy"].values())
    kept = []
    for source in ("books", "manpages", "python_docs", "code"):
        with gzip.open(out / "clean" / source / "part-0.jsonl.gz", "rt") as f:
            kept += [json.loads(line)["id"] for line in f]
    assert len(kept) == 92 and not set(kept) & planted


def test_other_tasks_rebuild_the_filter_and_change_the_results(tmp_path: Path) -> None:
    """Index for task set X, rerun in the same folder with task set Y: a new filter, Y's results."""
    train, out = tmp_path / "train", tmp_path / "decon"
    docs, planted, _ = _plant(train, ["boolq", "winogrande"], random.Random(1))
    hits = {t: {d["id"] for d in docs if any(p in d["text"].split("\n") for p in _paragraphs([t]))}
            for t in ("boolq", "winogrande")}
    assert hits["boolq"] and hits["winogrande"] and hits["boolq"] | hits["winogrande"] == planted

    runs = {}
    for task in ("boolq", "winogrande", "boolq"):
        export_eval_documents(task, out / "eval_documents")
        for stale in (out / "eval_documents").glob("*.jsonl.gz"):  # the export folder holds one task set
            if stale.name != f"{task}.jsonl.gz":
                stale.unlink()
        report = decontaminate(out / "eval_documents", train, out)
        flags, per_task = read_contamination(out, task)
        assert {d["id"] for d in report["contaminated"]} == hits[task], task
        assert per_task[task]["training_documents_matched"] == len(hits[task])
        runs.setdefault(task, []).append(report["index"])
    assert runs["boolq"][0]["rebuilt"] and runs["winogrande"][0]["rebuilt"]
    assert runs["boolq"][0]["key"] != runs["winogrande"][0]["key"]
    assert not runs["boolq"][1]["rebuilt"] and runs["boolq"][1]["key"] == runs["boolq"][0]["key"]


def test_builtin_planted_documents_are_caught(tmp_path: Path) -> None:
    """The demo data's three planted documents, and nothing else of the built-in corpus, against core9
    (the demo's task set), with the same eval instances as before the move to dolma-tools."""
    export_eval_documents("core9", tmp_path / "eval_documents")
    report = decontaminate(tmp_path / "eval_documents", builtin_path("corpus"), tmp_path)
    matches = {d["id"]: d["matches"] for d in report["contaminated"]}
    assert matches == {"planted-0": ["boolq/30"], "planted-1": ["boolq/2480", "boolq/403"],
                       "planted-2": ["boolq/64"]}
    flags, per_task = read_contamination(tmp_path, "core9")
    assert {i for i, ok in flags["boolq"].items() if not ok} == {"30", "2480", "403", "64"}
    assert per_task["boolq"]["instances_contaminated"] == 4
    assert per_task["boolq"]["eval_paragraphs"] == 978 and per_task["hellaswag"]["eval_paragraphs"] == 4206
