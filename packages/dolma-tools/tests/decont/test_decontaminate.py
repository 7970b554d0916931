"""Decontamination on real documents with planted eval paragraphs, graded by a plain substring search
that never touches the Bloom filter; the index is keyed by the eval documents' content, so rerunning
with other eval data rebuilds it and the results follow the new data."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest
import zstandard

from dolma_tools.cli import main
from dolma_tools.decont import DecontConfig, decontaminate
from dolma_tools.docio import iter_attributes, iter_documents

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
ATTR = "decontam__decont__contaminated_paragraphs"


def _docs(rel: str, n: int, skip: int = 0) -> list[dict]:
    with open(SHARED / rel, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(skip + n), text)][skip:]


def _long_lines(docs: list[dict], n: int) -> list[str]:
    """``n`` distinct lines of at least 13 words: stand-ins for eval paragraphs."""
    seen: dict[str, None] = {}
    for d in docs:
        for line in d["text"].split("\n"):
            if len(line.split()) >= 13:
                seen.setdefault(line)
    return list(seen)[:n]


def _write(path: Path, docs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in docs)
    return path


def _eval_docs(task: str, paragraphs: list[str]) -> list[dict]:
    # two paragraphs per eval instance, plus a short one that is never indexed
    return [{"id": f"{task}/{i}", "text": "\n".join([*paragraphs[2 * i:2 * i + 2], "Yes"]), "source": task}
            for i in range(len(paragraphs) // 2)]


@pytest.fixture()
def world(tmp_path: Path) -> dict:
    """Training documents (books, python_docs) with paragraphs of eval set X planted in some and of
    eval set Y in others; X and Y come from manpages, which the training slice does not contain."""
    rng = random.Random(0)
    source = _docs("corpus/manpages/manpages-0000.jsonl.zst", 60)
    lines = _long_lines(source, 40)
    x, y = lines[:20], lines[20:40]
    train = tmp_path / "train"
    planted: dict[str, set[str]] = {"x": set(), "y": set()}
    for src in ("books", "python_docs"):
        docs = _docs(f"corpus/{src}/{src}-0000.jsonl.zst", 15)
        for k, d in enumerate(docs):
            which = "x" if k in (2, 7) else "y" if k in (4, 11) else None
            if which:
                parts = d["text"].split("\n")
                at = rng.randrange(len(parts) + 1)
                d["text"] = "\n".join(parts[:at] + [rng.choice(x if which == "x" else y)] + parts[at:])
                planted[which].add(d["id"])
        _write(train / src / "part-0.jsonl.gz", docs)
    _write(tmp_path / "eval_x" / "task_x.jsonl.gz", _eval_docs("task_x", x))
    _write(tmp_path / "eval_y" / "task_y.jsonl.gz", _eval_docs("task_y", y))
    return {"train": train, "x": x, "y": y, "planted": planted, "root": tmp_path}


def _substring_hits(train: Path, paragraphs: list[str]) -> set[str]:
    out = set()
    for f in sorted(train.rglob("*.jsonl.gz")):
        for _, d in iter_documents(f):
            if set(d.text.split("\n")) & set(paragraphs):
                out.add(d.id)
    return out


def _kept_ids(out: Path) -> set[str]:
    return {d.id for f in (out / "clean").rglob("*.jsonl.gz") for _, d in iter_documents(f)}


def test_index_keyed_by_eval_content_rebuilds_for_other_tasks(world: dict) -> None:
    train, root, planted = world["train"], world["root"], world["planted"]
    out = root / "decon"
    all_ids = {d.id for f in train.rglob("*.jsonl.gz") for _, d in iter_documents(f)}

    rx = decontaminate(root / "eval_x", train, out)
    assert rx["index"]["rebuilt"] and len(planted["x"]) == 4
    assert {d["id"] for d in rx["contaminated"]} == planted["x"] == _substring_hits(train, world["x"])
    assert _kept_ids(out) == all_ids - planted["x"]
    assert rx["per_eval_source"]["task_x"]["eval_paragraphs"] == 20  # "Yes" is too short to index
    flagged_x = {r.id for f in (out / "eval_attributes").rglob("*.jsonl.gz") for _, r in iter_attributes(f)
                 if r.attributes[ATTR]}
    assert flagged_x and all(i.startswith("task_x/") for i in flagged_x)

    # the same eval data again: the cached index and the per-file scans are reused, results equal
    again = decontaminate(root / "eval_x", train, out)
    assert not again["index"]["rebuilt"] and again["index"]["key"] == rx["index"]["key"]
    assert again["contaminated"] == rx["contaminated"]

    # other tasks into the same destination: another key, a new filter, the results of Y only
    ry = decontaminate(root / "eval_y", train, out)
    assert ry["index"]["rebuilt"] and ry["index"]["key"] != rx["index"]["key"]
    assert {d["id"] for d in ry["contaminated"]} == planted["y"] == _substring_hits(train, world["y"])
    assert _kept_ids(out) == all_ids - planted["y"]
    assert sorted(p.name for p in (out / "eval_attributes").rglob("*.jsonl.gz")) == ["task_y.jsonl.gz"]
    assert len(list((out / "index").glob("eval-*.bloom"))) == 2
    train_flags = {r.id for f in (out / "attributes" / "decontam").rglob("*.jsonl.gz")
                   for _, r in iter_attributes(f) if r.attributes[ATTR]}
    assert train_flags == planted["y"]

    # back to X: its earlier scans described outputs that Y has since rewritten, so all is redone
    back = decontaminate(root / "eval_x", train, out)
    assert not back["index"]["rebuilt"] and back["contaminated"] == rx["contaminated"]
    assert _kept_ids(out) == all_ids - planted["x"]

    # same file names, changed content: the key follows the text, not the path
    changed = _eval_docs("task_x", world["y"])
    _write(root / "eval_x" / "task_x.jsonl.gz", changed)
    rc = decontaminate(root / "eval_x", train, out)
    assert rc["index"]["rebuilt"] and rc["index"]["key"] not in (rx["index"]["key"], ry["index"]["key"])
    assert {d["id"] for d in rc["contaminated"]} == planted["y"]


def test_eval_side_flags_name_the_matched_paragraphs(world: dict) -> None:
    root = world["root"]
    report = decontaminate(root / "eval_x", world["train"], root / "decon")
    matched = {m for d in report["contaminated"] for m in d["matches"]}
    (f,) = (root / "decon" / "eval_attributes").rglob("*.jsonl.gz")
    docs = {d.id: d.text for _, d in iter_documents(root / "eval_x" / "task_x.jsonl.gz")}
    train_text = "\n".join(d.text for g in world["train"].rglob("*.jsonl.gz") for _, d in iter_documents(g))
    flagged = set()
    for _, rec in iter_attributes(f):
        for s, e, score in rec.attributes[ATTR]:
            para = docs[rec.id][int(s):int(e)].removesuffix("\n")
            assert score == 1.0 and para in train_text.split("\n")
            flagged.add(rec.id)
    assert flagged == matched
    assert report["per_eval_source"]["task_x"]["eval_documents_contaminated"] == len(matched)


def test_bloom_false_positives_never_mark(world: dict) -> None:
    root = world["root"]
    # a filter that answers "maybe" to a large share of everything: only exact hits may count
    report = decontaminate(root / "eval_x", world["train"], root / "decon",
                           DecontConfig(false_positive_rate=0.3))
    assert {d["id"] for d in report["contaminated"]} == world["planted"]["x"]


def test_ngram_mode_catches_edited_paragraphs(world: dict) -> None:
    root = world["root"]
    train = root / "train_edited"
    x0 = world["x"][0]
    doc = {"id": "edited", "text": "intro line\nPREFIX " + x0 + " and a new tail\noutro", "source": "web"}
    _write(train / "web.jsonl.gz", [doc, {"id": "clean", "text": "nothing to see here", "source": "web"}])
    exact = decontaminate(root / "eval_x", train, root / "exact")
    assert exact["contaminated"] == []
    grams = decontaminate(root / "eval_x", train, root / "ngram", DecontConfig(ngram_length=8, threshold=0.5))
    assert [d["id"] for d in grams["contaminated"]] == ["edited"]
    assert grams["index"]["key"] != exact["index"]["key"]  # the settings are part of the key


def test_cli_flag_only_writes_attributes_for_the_mixer(world: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root = world["root"]
    out = root / "flagged"
    assert main(["decontaminate", "--eval-documents", str(root / "eval_x"), "--documents", str(world["train"]),
                 "--destination", str(out), "--flag-only", "--no-progress"]) == 0
    assert "training documents contaminated" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["documents_dropped"] == 0 and report["documents_contaminated"] == 4
    assert not (out / "clean").exists()
    flagged = {r.id for f in (out / "attributes" / "decontam").rglob("*.jsonl.gz") for _, r in iter_attributes(f)
               if r.attributes[ATTR]}
    assert flagged == world["planted"]["x"]
    # bad input is one line naming the file, exit status 2 (the CLI's error boundary)
    bad = root / "bad" / "e.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"id": "a", "text": "x"}\nnot json\n')
    assert main(["decontaminate", "--eval-documents", str(bad), "--documents", str(world["train"]),
                 "--destination", str(root / "o2"), "--no-progress"]) == 2
    assert str(bad) in capsys.readouterr().err
