"""infini-gram's side of ``tools/bench/vs_infini_gram.py`` (infini-gram 2.6.0, its pinned environment:
numpy and infini-gram only).

``mode`` build: a round lays the same token shards out as infini-gram's indexing step 1 writes them
(``tokenized.0``: each document's uint16 ids after a 0xFFFF separator; ``offset.0``: each document's
byte offset) and runs its step 2, ``infini_gram.indexing.build_sa`` (its Rust ``make-part``, ``merge``,
``concat``) with ``cpus`` processes and ``mem`` GiB, into ``<work>/index`` (removed first). Step 1's
tokenization is not run: the ids come from our shards, so both sides index the same ids. count: a
round is ``InfiniGramEngine.count`` per query (index memory-mapped, its default; ``load_to_ram``: read
into memory first). locate: ``find`` then ``get_docs_by_ranks_2`` (the
matched tokens of every occurrence, no context) for each query counted at most ``max_locate`` times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np


def _write_step1(shards: list[str], doc_starts: np.ndarray, out: Path) -> int:
    stream = np.concatenate([np.fromfile(p, dtype="<u2") for p in shards])
    np.insert(stream, doc_starts, 0xFFFF).astype("<u2").tofile(out / "tokenized.0")
    ((doc_starts + np.arange(len(doc_starts))) * 2).astype("<u8").tofile(out / "offset.0")
    return len(stream)


def setup(config: dict[str, Any]):
    from infini_gram import indexing
    from infini_gram.engine import InfiniGramEngine

    work = Path(config["work"])
    queries = json.loads(Path(config["queries"]).read_text())
    index_dir = work / "index"
    eos = int(config["eos_id"])
    if config["mode"] == "build":
        doc_starts = np.load(config["doc_starts"])

        def build() -> dict[str, Any]:
            shutil.rmtree(index_dir, ignore_errors=True)
            index_dir.mkdir(parents=True)
            n = _write_step1(config["shards"], doc_starts, index_dir)
            args = argparse.Namespace(save_dir=str(index_dir), temp_dir=str(index_dir), worker_id=0, workers=1,
                                      shards=1, cpus=int(config["cpus"]), mem=int(config["mem_gib"]), token_width=2)
            cwd = os.getcwd()
            try:
                indexing.build_sa(args)  # chdirs into its package to find the Rust binary
            finally:
                os.chdir(cwd)
            engine = InfiniGramEngine(index_dir=str(index_dir), eos_token_id=eos, version=4, token_dtype="u16")
            counts = [engine.count(q)["count"] for q in queries[:50]]
            del engine
            return {"units": n, "output": {"tokens": n, "counts": counts}}
        return build
    engine = InfiniGramEngine(index_dir=str(index_dir), eos_token_id=eos, version=4, token_dtype="u16",
                              load_to_ram=bool(config.get("load_to_ram", False)))
    if config["mode"] == "count":
        def count() -> dict[str, Any]:
            out = []
            for q in queries:
                r = engine.count(q)
                if r.get("approx"):
                    raise RuntimeError(f"infini-gram gave an approximate count for {q}")
                out.append(r["count"])
            return {"units": len(queries), "output": out}
        return count
    cap = int(config["max_locate"])

    def locate() -> dict[str, Any]:
        out: list[list[int] | None] = []
        for q in queries:
            found = engine.find(q)
            if found["cnt"] > cap:
                out.append(None)
                continue
            lo, hi = found["segment_by_shard"][0]
            docs = engine.get_docs_by_ranks_2([(0, r, len(q), 0) for r in range(lo, hi)]) if hi > lo else []
            out.append(sorted(d["doc_ix"] for d in docs))
        return {"units": len(queries), "output": out}
    return locate
