"""The documents of ``vs_datatrove.py`` and the MinHash quality of each side against a planted truth.

``corpus_slice`` cuts the shared corpus into the benchmark's inputs. For MinHash those go through
``dolma-tools synth-corpus`` (its public CLI): the slice recombined ``scale`` times with exact and
near-duplicate copies planted at stated Jaccard bands, and a key file (``truth.jsonl.gz``: ids ``a``,
``b``, their true Jaccard over word 5-grams, ``kind``).

Both sides are scored the same way, here, from what each wrote: every document's cluster, given as
the kept document it belongs to (``kept_of``: removed id -> kept id; ours: ``--clusters``,
datatrove: the cluster ids its stages 3 and 4 save and load). Recall: the planted pairs whose two
documents ended in one cluster, per band of true Jaccard, and overall over the pairs at or above the
threshold. Precision: each removed document against the document kept for it, right when their
Jaccard over whitespace word 5-grams (computed here from the texts, by neither tool) reaches the
threshold.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def corpus_slice(corpus: Path, docs_per_file: int | None, max_files: int = 1, max_chars: int | None = None
                 ) -> dict[str, list[dict[str, Any]]]:
    """The first ``max_files`` files of each source, cut to their first ``docs_per_file`` documents of at
    most ``max_chars`` characters, as ``{"<source>/<stem>.jsonl.gz": [documents]}``; ids made unique
    across files (``<source>/<stem>#<id>``)."""
    import io

    import zstandard

    out: dict[str, list[dict[str, Any]]] = {}
    for source in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for path in sorted(source.glob("*.jsonl.zst"))[:max_files]:
            stem = path.name.removesuffix(".jsonl.zst")
            docs = []
            with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as z:
                for line in io.TextIOWrapper(z, encoding="utf-8"):
                    if docs_per_file is not None and len(docs) >= docs_per_file:
                        break
                    obj = json.loads(line)
                    if max_chars is not None and len(obj["text"]) > max_chars:
                        continue
                    obj["id"] = f"{source.name}/{stem}#{obj['id']}"
                    docs.append(obj)
            out[f"{source.name}/{stem}.jsonl.gz"] = docs
    return out


def jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard similarity of the sets of whitespace word n-grams (a text shorter than n: one n-gram)."""
    def grams(text: str) -> set[tuple[str, ...]]:
        w = text.split()
        return {tuple(w[i:i + n]) for i in range(max(len(w) - n + 1, 1))} if w else set()
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def synth(cli: list[str], inputs: Path, destination: Path, *, scale: int, seed: int, near: float, exact: float,
          shards: int) -> tuple[Path, list[dict[str, Any]], dict[str, str]]:
    """Run ``dolma-tools synth-corpus``; return its documents folder, the key's pairs and every text by id."""
    n_in = sum(1 for p in inputs.rglob("*.jsonl.gz") for _ in gzip.open(p, "rt"))
    per_shard = max(1, -(-n_in * scale // shards))
    subprocess.run([*cli, "synth-corpus", "--documents", str(inputs), "--destination", str(destination),
                    "--scale", str(scale), "--seed", str(seed), "--near-dup-rate", str(near), "--exact-dup-rate",
                    str(exact), "--docs-per-shard", str(per_shard), "--no-progress"], check=True, capture_output=True)
    docs = destination / "documents"
    texts = {}
    for path in sorted(docs.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                obj = json.loads(line)
                texts[obj["id"]] = obj["text"]
    with gzip.open(destination / "truth.jsonl.gz", "rt", encoding="utf-8") as f:
        truth = [json.loads(line) for line in f]
    return docs, truth, texts


def band(j: float) -> str:
    if j >= 1.0:
        return "1.0"
    for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True):
        if lo <= j < hi:
            return f"{lo:.1f}-{hi:.1f}"
    return f"<{EDGES[0]:.1f}"


def describe(truth: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for t in truth:
        counts[band(t["jaccard"])] = counts.get(band(t["jaccard"]), 0) + 1
    return (f"{len(truth)} planted pairs by true 5-gram Jaccard: "
            + ", ".join(f"{k} {counts[k]}" for k in sorted(counts, key=lambda s: (s == "1.0", s))))


# --------------------------------------------------------------------------------------------------
# Each side's clusters


def ours_clusters(attr_rows: list[dict[str, Any]], cluster_rows: list[dict[str, Any]], prefix: str
                  ) -> dict[str, Any]:
    """From our attribute rows (every document, duplicates marked) and ``--clusters`` ({id, kept})."""
    ids = [r["id"] for r in attr_rows]
    marked = {r["id"] for r in attr_rows if any(k.startswith(prefix) and v for k, v in (r.get("attributes") or {}).items())}
    kept_of = {r["id"]: r["kept"] for r in cluster_rows}
    return {"documents": len(ids), "ids": sorted(ids), "marked": sorted(marked), "kept_of": kept_of}


def datatrove_clusters(removed_rows: list[dict[str, Any]], kept_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """From datatrove's stage 4 ({id, cluster} of the removed and of the kept documents): the kept
    document of each removed one is the kept member of its cluster."""
    kept_by_cluster = {r["cluster"]: r["id"] for r in kept_rows if r["cluster"] != -1}
    ids = [r["id"] for r in removed_rows + kept_rows]
    kept_of = {r["id"]: kept_by_cluster.get(r["cluster"], "?") for r in removed_rows}
    return {"documents": len(ids), "ids": sorted(ids), "marked": sorted(kept_of), "kept_of": kept_of}


def scores(kept_of: dict[str, str], truth: list[dict[str, Any]], texts: dict[str, str], threshold: float
           ) -> dict[str, Any]:
    def root(x: str) -> str:
        return kept_of.get(x, x)

    found: dict[str, list[int]] = {}
    for t in truth:
        b = found.setdefault(band(t["jaccard"]), [0, 0])
        b[0] += root(t["a"]) == root(t["b"])
        b[1] += 1
    above = [t for t in truth if t["jaccard"] >= threshold]
    hits = sum(root(t["a"]) == root(t["b"]) for t in above)
    right = sum(jaccard(texts[x], texts[k]) >= threshold for x, k in kept_of.items() if k in texts)
    return {"recall": round(hits / len(above), 4) if above else None,
            "precision": round(right / len(kept_of), 4) if kept_of else None,
            "removed": len(kept_of),
            "found_per_band": {k: f"{found[k][0]}/{found[k][1]}" for k in sorted(found, key=lambda s: (s == "1.0", s))}}


def check(truth: list[dict[str, Any]], texts: dict[str, str], threshold: float, report: dict[str, Any]):  # noqa: ANN201
    """Both sides account for every document exactly once, every removed document has a kept one, and
    every exact planted pair ends in one cluster on both; precision and recall go to ``report`` (and
    the note), not into the gate."""
    exact = [t for t in truth if t["jaccard"] >= 1.0]

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    def run(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[bool, str]:
        for name, side in (("ours", ours), ("datatrove", theirs)):
            if side["ids"] != sorted(texts):
                return False, (f"{name} accounted for {side['documents']} rows ({len(set(side['ids']))} ids) of "
                               f"{len(texts)} documents")
            orphans = [x for x, k in side["kept_of"].items() if k not in texts or k in side["kept_of"]]
            if orphans or set(side["marked"]) != set(side["kept_of"]):
                return False, f"{name}: removed documents without a kept one, e.g. {orphans[:2]}"
        q = {name: scores(side["kept_of"], truth, texts, threshold) for name, side in (("ours", ours),
                                                                                       ("datatrove", theirs))}
        report.update(q, planted_pairs=len(truth), documents=len(texts), threshold=threshold)
        note = "; ".join(f"{k}: precision {fmt(v['precision'])}, recall {fmt(v['recall'])} (Jaccard >= {threshold:g}),"
                         f" {v['removed']} removed, pairs found per band {v['found_per_band']}" for k, v in q.items())
        missed = {name: sum(side["kept_of"].get(t["a"], t["a"]) != side["kept_of"].get(t["b"], t["b"]) for t in exact)
                  for name, side in (("ours", ours), ("datatrove", theirs))}
        if any(missed.values()):
            return False, (f"exact planted pairs not joined: ours {missed['ours']}, datatrove {missed['datatrove']} "
                           f"of {len(exact)}; " + note)
        return True, f"{len(texts)} documents accounted for by both, all {len(exact)} exact pairs joined by both; " + note

    return run
