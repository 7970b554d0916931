"""MinHash LSH: signature agreement estimates Jaccard, near-copies cluster, the first copy is kept,
and the result does not depend on the number of processes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import zstandard

from dolma_tools.dedupe import MinHashConfig
from dolma_tools.dedupe.buckets import key_ranges
from dolma_tools.dedupe.minhash import minhash_dedupe, permutations, signature
from dolma_tools.dedupe.unionfind import UnionFind

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"


def _docs(rel: str, n: int) -> list[dict]:
    with open(SHARED / rel, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


def test_signature_agreement_estimates_jaccard() -> None:
    # shingles of size 1 = the word sets: {w0..w99} vs {w50..w149}: Jaccard = 50 / 150 = 1/3
    x = " ".join(f"w{i}" for i in range(100))
    y = " ".join(f"w{i}" for i in range(50, 150))
    a, b = permutations(512, seed=3)
    est = float(np.mean(signature(x, shingle_size=1, a=a, b=b) == signature(y, shingle_size=1, a=a, b=b)))
    assert abs(est - 1 / 3) < 0.06


def test_near_copies_cluster_and_the_first_is_kept(tmp_path: Path) -> None:
    docs = _docs("corpus/python_docs/python_docs-0000.jsonl.zst", 60)
    docs = [d for d in docs if len(d["text"].split()) > 300][:30]
    copies = []
    for k, d in enumerate(docs[:10]):
        words = d["text"].split()
        words[len(words) // 2] = "CHANGED"  # one word in hundreds: Jaccard stays far above 0.7
        copies.append({"id": f"copy-{k}", "text": " ".join(words), "source": "copies"})
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "b.jsonl").write_text("".join(json.dumps(d) + "\n" for d in copies))
    s1 = minhash_dedupe(folder, MinHashConfig(), destination=tmp_path / "m1")
    rows = [json.loads(line) for line in (tmp_path / "m1" / "b.jsonl").read_text().splitlines()]
    assert all(r["attributes"]["minhash__minhash__duplicate_document"] for r in rows)
    originals = [json.loads(line) for line in (tmp_path / "m1" / "a.jsonl").read_text().splitlines()]
    assert not any(r["attributes"]["minhash__minhash__duplicate_document"] for r in originals)
    assert s1["duplicate_documents"] == 10 and s1["precision_accepted"] == 1.0

    minhash_dedupe(folder, MinHashConfig(processes=2), destination=tmp_path / "m2")
    # the bucket merge a few records at a time (many key ranges per band) finds the same clusters
    assert len(key_ranges(40, 3)) == 14
    minhash_dedupe(folder, MinHashConfig(merge_records=3), destination=tmp_path / "m3")
    for n in ("a.jsonl", "b.jsonl"):
        assert (tmp_path / "m1" / n).read_bytes() == (tmp_path / "m2" / n).read_bytes()
        assert (tmp_path / "m1" / n).read_bytes() == (tmp_path / "m3" / n).read_bytes()


def test_union_find_roots_are_first_members_whatever_the_edge_order() -> None:
    rng = np.random.default_rng(5)
    n = 300
    edges = [tuple(int(x) for x in rng.integers(0, n, 2)) for _ in range(220)]
    # reference: connected components by graph search, each named by its smallest member
    adj: dict[int, set[int]] = {i: set() for i in range(n)}
    for i, j in edges:
        adj[i].add(j)
        adj[j].add(i)
    expected = [-1] * n
    for start in range(n):
        if expected[start] < 0:
            stack, comp = [start], {start}
            while stack:
                for y in adj[stack.pop()] - comp:
                    comp.add(y)
                    stack.append(y)
            for x in comp:
                expected[x] = min(comp)
    for order in range(3):
        uf = UnionFind(n)
        for k in rng.permutation(len(edges)) if order else range(len(edges)):
            uf.union(*edges[k])
        assert uf.roots() == expected
