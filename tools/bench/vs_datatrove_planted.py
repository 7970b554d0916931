"""Documents with planted near-duplicates and their truth key, for ``vs_datatrove.py``'s MinHash
comparison, and the precision / recall of each side against that key.

The base is real documents of the shared corpus. For a seeded ``fraction`` of those with at least
``MIN_WORDS`` words, a copy is written right after the original (same file, next line, so both
tools keep the original: ours keeps the first in input order, datatrove the earlier (file, line) of a
pair): an exact copy, or a copy with whitespace-delimited words replaced by made-up lower-case words
(new to any tokeniser, unchanged by datatrove's normalisation) until the Jaccard similarity of the two
documents' sets of word 5-grams (whitespace words, computed here, independently of either tool)
lands near a target drawn uniformly from [0.3, 1). The key holds each copy's original and its true
Jaccard.

Scoring (a copy counts as found when the side removed the copy): recall = planted copies with
Jaccard >= ``POSITIVE`` removed / all of them; precision = those removed / (those + removed copies
with Jaccard < ``NEGATIVE``); copies in between are reported per band, not scored. Removed documents
outside the key (near-duplicates already in the shared corpus) are counted apart.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

MIN_WORDS = 120
POSITIVE, NEGATIVE = 0.8, 0.5
BANDS = ((1.0, 1.01, "exact"), (0.9, 1.0, "0.9-1"), (0.8, 0.9, "0.8-0.9"), (0.7, 0.8, "0.7-0.8"),
         (0.5, 0.7, "0.5-0.7"), (0.0, 0.5, "<0.5"))
_TOKEN = re.compile(r"(\s+)")


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


def shingle_set(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))} if words else set()


def jaccard(a: str, b: str, n: int = 5) -> float:
    x, y = shingle_set(a, n), shingle_set(b, n)
    return len(x & y) / len(x | y) if x | y else 1.0


def _edited(text: str, target: float, rng: random.Random, n: int) -> str:
    """``text`` with words replaced so that its 5-gram Jaccard with the original is near ``target``:
    each isolated replacement removes about ``n`` shingles and adds ``n`` new ones."""
    pieces = _TOKEN.split(text)
    word_at = [i for i, p in enumerate(pieces) if p and not p.isspace()]
    shingles = max(len(word_at) - n + 1, 1)
    m = max(1, round(shingles * (1 - target) / (n * (1 + target))))
    for i in rng.sample(word_at, min(m, len(word_at))):
        pieces[i] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
    return "".join(pieces)


def plant(base: dict[str, list[dict[str, Any]]], *, fraction: float, seed: int, shingle: int = 5
          ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The files with planted copies inserted after their originals, and the truth key
    ``{copy id: {"origin", "jaccard", "kind"}}`` (kind: exact or edited)."""
    rng = random.Random(seed)
    files: dict[str, list[dict[str, Any]]] = {}
    truth: dict[str, dict[str, Any]] = {}
    for rel, docs in base.items():
        out = []
        for doc in docs:
            out.append(doc)
            if len(doc["text"].split()) < MIN_WORDS or rng.random() >= fraction:
                continue
            exact = rng.random() < 0.2
            text = doc["text"] if exact else _edited(doc["text"], rng.uniform(0.3, 1.0), rng, shingle)
            copy = {**doc, "id": f"{doc['id']}~copy", "text": text}
            truth[copy["id"]] = {"origin": doc["id"], "jaccard": 1.0 if exact else jaccard(doc["text"], text, shingle),
                                 "kind": "exact" if exact else "edited"}
            out.append(copy)
        files[rel] = out
    return files, truth


def band_of(j: float) -> str:
    return next(name for lo, hi, name in BANDS if lo <= j < hi)


def describe(truth: dict[str, dict[str, Any]]) -> str:
    counts = {name: 0 for *_, name in BANDS}
    for t in truth.values():
        counts[band_of(t["jaccard"])] += 1
    return f"{len(truth)} copies by true 5-gram Jaccard: " + ", ".join(f"{k} {v}" for k, v in counts.items())


# --------------------------------------------------------------------------------------------------
# Each side's removals


def ours_removed(rows: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """From our attribute rows: every document id seen and those marked duplicate."""
    ids = [r["id"] for r in rows]
    removed = [r["id"] for r in rows if any(k.startswith(prefix) and v for k, v in (r.get("attributes") or {}).items())]
    return {"documents": len(ids), "ids": sorted(ids), "removed": sorted(removed)}


def datatrove_removed(rows: list[dict[str, Any]], stage4_logs: Path) -> dict[str, Any]:
    """From datatrove's stage-4 exclusion writer and its stats: the removed ids and the documents read."""
    stats = json.loads((stage4_logs / "stats.json").read_text())
    total = next(s["stats"]["total"] for s in stats if "MinHash stage 4" in s["name"])
    total = total["total"] if isinstance(total, dict) else total
    return {"documents": int(total), "ids": None, "removed": sorted(r["id"] for r in rows)}


def scores(removed: set[str], truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    per_band = {name: [0, 0] for *_, name in BANDS}
    for cid, t in truth.items():
        b = per_band[band_of(t["jaccard"])]
        b[0] += cid in removed
        b[1] += 1
    pos = [c for c, t in truth.items() if t["jaccard"] >= POSITIVE]
    neg = [c for c, t in truth.items() if t["jaccard"] < NEGATIVE]
    tp, fp = sum(c in removed for c in pos), sum(c in removed for c in neg)
    return {"recall": tp / len(pos) if pos else None, "precision": tp / (tp + fp) if tp + fp else None,
            "per_band_removed": {k: f"{v[0]}/{v[1]}" for k, v in per_band.items()},
            "removed_outside_key": sum(1 for r in removed if r not in truth)}


def check(truth: dict[str, dict[str, Any]], n_docs: int, report: dict[str, Any]):  # noqa: ANN201
    """Both sides read every document; ours marks each once; both removed every exact copy; precision and
    recall go to ``report`` (and the note), not into the gate."""
    exact = [c for c, t in truth.items() if t["kind"] == "exact"]

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    def run(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[bool, str]:
        if ours["documents"] != n_docs or len(set(ours["ids"])) != n_docs:
            return False, f"ours marked {ours['documents']} rows ({len(set(ours['ids']))} ids) of {n_docs} documents"
        if theirs["documents"] != n_docs:
            return False, f"datatrove's filter stage read {theirs['documents']} of {n_docs} documents"
        unknown = set(theirs["removed"]) - set(ours["ids"])
        if unknown:
            return False, f"datatrove removed ids that are not in the input: {sorted(unknown)[:3]}"
        q = {name: scores(set(side["removed"]), truth) for name, side in (("ours", ours), ("datatrove", theirs))}
        report.update(q, planted=len(truth), documents=n_docs)
        note = "; ".join(f"{k}: precision {fmt(v['precision'])}, recall {fmt(v['recall'])} (Jaccard >= {POSITIVE}), "
                         f"removed per band {v['per_band_removed']}, {v['removed_outside_key']} removed outside the key"
                         for k, v in q.items())
        missed = {k: [c for c in exact if c not in set(side["removed"])] for k, side in
                  (("ours", ours), ("datatrove", theirs))}
        if any(missed.values()):
            return False, (f"exact planted copies not removed: ours {len(missed['ours'])}, datatrove "
                           f"{len(missed['datatrove'])} of {len(exact)}; " + note)
        return True, f"{n_docs} documents read by both, all {len(exact)} exact copies removed by both; " + note

    return run
