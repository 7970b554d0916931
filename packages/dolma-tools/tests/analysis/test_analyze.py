"""Corpus analysis graded by independent counts: sizes from the raw JSON, tokens from the HF
tokenizers library, n-grams from collections.Counter, contamination from a Python set walk."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import zstandard
from tokenizers import Tokenizer

from dolma_tools.analysis import AnalysisConfig, CountMinSketch, NgramCounts, analyze
from dolma_tools.dedupe import BloomDedupeConfig, build_paragraph_filter, dedupe_files

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


def _docs(rel: str, n: int) -> list[dict]:
    with open(SHARED / rel, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


def test_count_min_sketch_never_undercounts_and_finds_heavy_hitters() -> None:
    texts = [d["text"] for d in _docs("corpus/books/books-0000.jsonl.zst", 60)]
    words = [w for t in texts for w in t.split()]
    exact = Counter(words)
    cms = CountMinSketch(width=1 << 12, depth=4)
    cms.add(words)
    keys = list(exact)
    est = cms.estimate(keys)
    truth = np.array([exact[k] for k in keys])
    assert (est >= truth).all()
    assert np.mean(est - truth <= np.e * len(words) / (1 << 12)) > 0.95  # the CMS bound, per key w.p. 1 - e^-4
    sketched = NgramCounts.count(texts, 1, exact=False, width=1 << 14)
    assert [g for g, _ in sketched.top(5)] == [g for g, _ in exact.most_common(5)]


def test_analyze_matches_independent_counts(tmp_path: Path) -> None:
    a = _docs("corpus/manpages/manpages-0000.jsonl.zst", 25)
    b = _docs("corpus/python_docs/python_docs-0000.jsonl.zst", 15)
    docs_dir = tmp_path / "docs"
    docs_dir.mkdir()
    (docs_dir / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in a))
    (docs_dir / "b.jsonl").write_text("".join(json.dumps(d) + "\n" for d in b))
    dedupe_files(docs_dir, BloomDedupeConfig(false_positive_rate=1e-9), destination=tmp_path / "attrs" / "dedupe")
    evals = a[:5]
    bloom_path = build_paragraph_filter([d["text"] for d in evals], false_positive_rate=1e-9).save(tmp_path / "e.bloom")

    report = analyze(docs_dir, tmp_path / "out", AnalysisConfig(
        attributes=["dedupe"], attributes_root=str(tmp_path / "attrs"), tokenizer=str(TOKENIZER),
        contamination_filter=str(bloom_path), ngram_sizes=[2], top_k=5))

    ref = Tokenizer.from_file(str(TOKENIZER))
    for source, docs in (("manpages", a), ("python_docs", b)):
        st = report["per_source"][source]
        assert st["documents"] == len(docs)
        assert st["characters"] == sum(len(d["text"]) for d in docs)
        assert st["bytes"] == sum(len(d["text"].encode()) for d in docs)
        assert st["tokens"] == sum(len(ref.encode(d["text"], add_special_tokens=False).ids) for d in docs)
    # contamination: documents holding a non-blank line that also occurs in the eval documents
    eval_lines = {p for d in evals for p in d["text"].split("\n") if p.strip()}
    contaminated = [d for d in a + b if any(p in eval_lines for p in d["text"].split("\n") if p.strip())]
    assert report["contamination"]["documents"] == len(contaminated) >= 5
    # duplicates: documents with a line seen in an earlier document (or earlier in the same one)
    seen: set[str] = set()
    with_dup = 0
    for d in a + b:
        hit = False
        for p in d["text"].split("\n"):
            if p.strip():
                hit |= p in seen
                seen.add(p)
        with_dup += hit
    key = "dedupe__bloom__duplicate_paragraphs"
    assert sum(s["duplicates"].get(key, {}).get("documents", 0) for s in report["per_source"].values()) == with_dup
    bigrams = Counter(g for d in a + b for g in (" ".join(p) for p in zip(d["text"].split(), d["text"].split()[1:])))
    assert [tuple(x) for x in report["ngrams"]["2"]["top"]] == bigrams.most_common(5)
    for name in ("analysis.json", "summary.md", "sources.png", "lengths.png", "attributes.png", "ngrams_2.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "Contamination" in (tmp_path / "out" / "summary.md").read_text()
