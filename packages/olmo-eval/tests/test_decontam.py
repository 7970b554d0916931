"""olmo-eval's two ends of decontamination, without dolma-tools: the eval export is Dolma documents
(one per instance, one paragraph a line), and the flags are read back from a folder laid out as
``dolma-tools decontaminate`` writes it (docs/interfaces.md, Decontamination), written here by hand.
The round trip through dolma-tools is tested in the repository's tests/test_decontamination.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from olmo_eval.cli import main
from olmo_eval.decontam import export_eval_documents, read_contamination
from olmo_eval.tasks import get_task

ATTR = "decontam__decont__contaminated_paragraphs"


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _fake_decontaminated(root: Path, export: Path, seen: dict[str, list[int]], per_source: dict[str, dict]) -> None:
    """What dolma-tools writes: eval_attributes mirroring the export, and report.json."""
    for f in sorted(export.glob("*.jsonl.gz")):
        out = root / "eval_attributes" / f.name
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(out, "wt", encoding="utf-8") as w:
            for d in _read(f):
                spans = [[0, 10, 1.0]] if d["id"] in seen else []
                w.write(json.dumps({"id": d["id"], "attributes": {ATTR: spans}}) + "\n")
    (root / "report.json").write_text(json.dumps({"format": "dolma-tools/decont-report", "version": 1,
                                                  "attribute": ATTR, "per_eval_source": per_source}))


def test_export_is_one_dolma_document_per_instance(tmp_path: Path) -> None:
    counts = export_eval_documents("boolq,arc_easy:mc,arc_easy", tmp_path)
    assert sorted(counts) == ["arc_easy", "boolq"]  # the lettered variant shares the cloze task's data
    docs = _read(tmp_path / "boolq.jsonl.gz")
    insts = get_task("boolq").instances()
    assert len(docs) == counts["boolq"] == len(insts)
    first = docs[0]
    assert first["id"] == f"boolq/{insts[0].id}" and first["source"] == "boolq"
    assert first["metadata"] == {"task": "boolq", "instance": insts[0].id}
    assert first["text"].split("\n") == list(dict.fromkeys(insts[0].texts))


def test_flags_read_back_per_instance(tmp_path: Path) -> None:
    export = tmp_path / "eval_documents"
    export_eval_documents("boolq,arc_easy", export)
    boolq = [i.id for i in get_task("boolq").instances()]
    dirty = {f"boolq/{boolq[3]}", f"boolq/{boolq[7]}"}
    per_source = {"boolq": {"eval_documents": len(boolq), "eval_paragraphs": 978, "eval_documents_contaminated": 2,
                            "training_documents_matched": 5},
                  "arc_easy": {"eval_documents": 570, "eval_paragraphs": 392, "eval_documents_contaminated": 0,
                               "training_documents_matched": 0}}
    _fake_decontaminated(tmp_path / "decon", export, dirty, per_source)

    flags, per_task = read_contamination(tmp_path / "decon", "boolq,arc_easy:mc")
    assert {i for i, clean in flags["boolq"].items() if not clean} == {boolq[3], boolq[7]}
    assert all(flags["arc_easy:mc"].values()) and len(flags["arc_easy:mc"]) == 570
    assert per_task["boolq"] == {"instances": len(boolq), "instances_contaminated": 2, "eval_paragraphs": 978,
                                 "training_documents_matched": 5}

    # the command writes clean_flags.json for `olmo-eval run --clean-flags`
    assert main(["decontaminate", "flags", "--tasks", "boolq", "--decontaminated", str(tmp_path / "decon")]) == 0
    assert json.loads((tmp_path / "decon" / "clean_flags.json").read_text())["boolq"] == flags["boolq"]

    # flags of tasks that were not exported are refused, not silently all clean
    with pytest.raises(ValueError, match="no eval documents of hellaswag"):
        read_contamination(tmp_path / "decon", "hellaswag")


def test_unknown_report_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"format": "something-else", "version": 1}))
    with pytest.raises(ValueError, match="report.json: format 'something-else'"):
        read_contamination(tmp_path, "boolq")
    with pytest.raises(FileNotFoundError, match="no report"):
        read_contamination(tmp_path / "missing", "boolq")
