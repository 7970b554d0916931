"""Cross-package: ``dolma-tools pipeline`` on a slice of every corpus source produces token arrays
(headerless memmaps + Dolma's ``.csv.gz`` + sidecars) that olmo-core's reader
(``olmo_core.data.tokens.TokenDataset``) accepts, with each document's tokens
equal to the HF tokenizers encoding of the text the pipeline kept (read back with plain zstandard +
json) and every position traceable to its document and source."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np
import zstandard
from rich.console import Console
from tokenizers import Tokenizer

from dolma_tools.pipeline import load_pipeline_config, run_pipeline
from olmo_core.data.tokens import TokenDataset

SOURCES = ["books", "code", "kernel_docs", "manpages", "python_docs", "reference"]

PIPELINE_YAML = """
documents: [{raw}]
work_dir: {work}
processes: 2
progress: false
tag: [{{experiment: quality, taggers: [char_length_v1, pii_regex_v1]}}]
filter:
  exclude: {{tiny: "char_length_v1__length < 300"}}
  span_replacement:
    - {{name: pii_email, attribute: pii_regex_v1__EMAIL_ADDRESS, replacement: " |||EMAIL_ADDRESS||| "}}
tokens: {{tokenizer: {tokenizer}, max_tokens_per_file: 30000}}
"""


def _read_zst_lines(path: Path) -> list[dict]:
    with open(path, "rb") as f:
        return [json.loads(line) for line in
                io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8") if line.strip()]


def test_pipeline_output_is_read_by_olmo_core(tmp_path: Path, shared_data: Path) -> None:
    raw = tmp_path / "raw"
    for source in SOURCES:
        first = sorted((shared_data / "corpus" / source).glob("*.jsonl.zst"))[0]
        with open(first, "rb") as f:
            text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
            docs = [json.loads(line) for _, line in zip(range(8), text)]
        (raw / source).mkdir(parents=True)
        (raw / source / "part.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    tok_file = shared_data / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
    (tmp_path / "p.yaml").write_text(PIPELINE_YAML.format(raw=raw, work=tmp_path / "work", tokenizer=tok_file))
    result = run_pipeline(load_pipeline_config(str(tmp_path / "p.yaml")),
                          console=Console(file=io.StringIO(), width=200))

    ds = TokenDataset(tmp_path / "work" / "tokens", expect_eos_id=50279)
    kept = [d for p in sorted((tmp_path / "work" / "deduped").rglob("*.jsonl.zst")) for d in _read_zst_lines(p)]
    assert ds.num_documents == len(kept) == result["tokens"]["documents"] >= 30
    assert ds.eos_id == 50279 and ds.pad_id == 1
    reference = Tokenizer.from_file(str(tok_file))
    expected = [reference.encode(d["text"], add_special_tokens=False).ids + [50279] for d in kept]
    assert ds.num_tokens == sum(map(len, expected))
    np.testing.assert_array_equal(ds.tokens(0, ds.num_tokens), np.concatenate(expected))
    bounds = np.cumsum([0] + [len(e) for e in expected])
    for k in range(0, len(kept), 3):
        ref = ds.document_at(int(bounds[k + 1]) - 1)  # the document's EOS position
        assert (ref.id, ref.source) == (kept[k]["id"], kept[k]["source"])
        assert (ref.start, ref.end) == (bounds[k], bounds[k + 1])
    assert {d["source"] for d in kept} == set(SOURCES)
    # the shards are what OLMo-core memory-maps: raw ids (np.fromfile), Dolma's metadata beside them
    shards = sorted((tmp_path / "work" / "tokens").glob("part-*.npy"))
    assert [s.array_path for s in ds.shards] == shards
    np.testing.assert_array_equal(np.concatenate([np.fromfile(p, dtype="<u2") for p in shards]),
                                  np.concatenate(expected))
    for shard in ds.shards:
        with gzip.open(shard.array_path.with_name(shard.array_path.name[:-4] + ".csv.gz"), "rt", newline="") as f:
            rows = list(csv.reader(f))
        assert [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows] == list(
            zip(shard.starts.tolist(), shard.ends.tolist(), shard.ids, shard.source_files, strict=True))
    funnel = result["funnel"]
    assert funnel["steps"][0]["total"]["documents"] == 8 * len(SOURCES)
    assert funnel["steps"][-1]["total"]["tokens"] == ds.num_tokens
