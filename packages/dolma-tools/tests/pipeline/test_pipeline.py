"""The one-command pipeline on a slice of the corpus: what reaches the token arrays is exactly the
filtered documents with their duplicate lines removed (recomputed here with a Python set walk and the
HF tokenizers library), the copy of a document is gone, the funnel is written, and a second run
skips every step."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import zstandard
from rich.console import Console
from tokenizers import Tokenizer

from dolma_tools.docio import iter_attributes
from dolma_tools.interfaces import read_tokens_sidecar
from dolma_tools.pipeline import load_pipeline_config, run_pipeline

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


PIPELINE_YAML = """
documents: [{raw}]
work_dir: {work}
progress: false
tag: [{{experiment: quality, taggers: [char_length_v1]}}]
filter:
  exclude: {{too_short: "char_length_v1__length < 2000"}}
dedupe:
  minhash: {{threshold: 0.8}}
tokens: {{tokenizer: {tokenizer}, max_tokens_per_file: 20000}}
"""


def _docs(rel: str, n: int) -> list[dict]:
    with open(SHARED / rel, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


def _without_seen_lines(text: str, seen: set[str]) -> str:
    parts = text.split("\n")
    out = []
    for i, p in enumerate(parts):
        seg = p + ("\n" if i < len(parts) - 1 else "")
        if p.strip():
            if p in seen:
                continue
            seen.add(p)
        out.append(seg)
    return "".join(out)


def test_pipeline_slice_end_to_end(tmp_path: Path) -> None:
    docs = _docs("corpus/python_docs/python_docs-0000.jsonl.zst", 12) + _docs("corpus/books/books-0000.jsonl.zst", 8)
    copy = {**docs[2], "id": "copy-of-" + docs[2]["id"]}
    docs.append(copy)
    src = tmp_path / "raw" / "mixed"
    src.mkdir(parents=True)
    (src / "part-0.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "p.yaml").write_text(PIPELINE_YAML.format(raw=tmp_path / "raw", work=tmp_path / "work",
                                                          tokenizer=TOKENIZER))
    cfg = load_pipeline_config(str(tmp_path / "p.yaml"), ["processes=1"])
    console = Console(file=io.StringIO(), width=200)
    result = run_pipeline(cfg, console=console)

    work = tmp_path / "work"
    kept_by_filter = [d for d in docs if len(d["text"]) >= 2000]
    seen: set[str] = set()
    expected_text = {d["id"]: _without_seen_lines(d["text"], seen) for d in kept_by_filter}
    near_dups = {r.id for f in (work / "dedupe_attributes" / "minhash").rglob("*.jsonl*")
                 for _, r in iter_attributes(f) if r.attributes["minhash__minhash__duplicate_document"]}
    assert copy["id"] in near_dups
    expected_ids = [d["id"] for d in kept_by_filter if expected_text[d["id"]].strip() and d["id"] not in near_dups]

    ref = Tokenizer.from_file(str(TOKENIZER))
    rows = []
    for shard in sorted((work / "tokens").glob("part-*.npy")):
        header, r = read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))
        arr = np.fromfile(shard, dtype="<u2") if header.array_format == "memmap" else np.load(shard)
        rows += [(doc_id, arr[s:e].tolist()) for s, e, doc_id, _, _ in r]
    assert [doc_id for doc_id, _ in rows] == expected_ids and len(rows) >= 10
    for doc_id, toks in rows:
        assert toks == ref.encode(expected_text[doc_id], add_special_tokens=False).ids + [50279], doc_id

    funnel = json.loads((work / "funnel.json").read_text())
    assert [s["step"] for s in funnel["steps"]] == ["raw", "filter", "dedupe", "tokens"]
    assert funnel["steps"][0]["total"]["documents"] == len(docs)
    assert funnel["steps"][1]["total"]["documents"] == len(kept_by_filter)
    assert funnel["steps"][-1]["total"]["documents"] == len(expected_ids)
    assert funnel["steps"][-1]["total"]["tokens"] == result["tokens"]["tokens"] == sum(len(t) for _, t in rows)
    assert (work / "funnel.png").stat().st_size > 1000
    assert "data funnel" in console.file.getvalue()

    again = Console(file=io.StringIO(), width=200)
    run_pipeline(cfg, console=again)
    assert again.file.getvalue().count("done earlier, skipped") == 5


def test_pipeline_decontaminate_step(tmp_path: Path) -> None:
    docs = _docs("corpus/python_docs/python_docs-0000.jsonl.zst", 12)
    src = tmp_path / "raw" / "mixed"
    src.mkdir(parents=True)
    (src / "part-0.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    kept = [d for d in docs if len(d["text"]) >= 2000]
    # an eval instance sharing a long line with the first kept document (and with no other)
    line = next(p for p in kept[0]["text"].split("\n") if len(p.split()) >= 13
                and not any(p in d["text"] for d in docs if d is not kept[0]))
    evals = tmp_path / "evals" / "task.jsonl"
    evals.parent.mkdir()
    evals.write_text(json.dumps({"id": "task/0", "text": line, "source": "task"}) + "\n")
    (tmp_path / "p.yaml").write_text(PIPELINE_YAML.format(raw=tmp_path / "raw", work=tmp_path / "work",
                                                          tokenizer=TOKENIZER))
    cfg = load_pipeline_config(str(tmp_path / "p.yaml"), ["processes=1", f"decontaminate.eval_documents=[{evals}]",
                                                          "dedupe.minhash_enabled=false"])
    run_pipeline(cfg, console=Console(file=io.StringIO(), width=200))

    work = tmp_path / "work"
    report = json.loads((work / "decontaminated" / "report.json").read_text())
    assert [d["id"] for d in report["contaminated"]] == [kept[0]["id"]]
    ids = []
    for shard in sorted((work / "tokens").glob("part-*.npy")):
        ids += [r[2] for r in read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))[1]]
    assert kept[0]["id"] not in ids and len(ids) == len(kept) - 1
    funnel = json.loads((work / "funnel.json").read_text())
    assert [s["step"] for s in funnel["steps"]] == ["raw", "filter", "dedupe", "decontaminate", "tokens"]
    assert funnel["steps"][3]["total"]["documents"] == len(kept) - 1
