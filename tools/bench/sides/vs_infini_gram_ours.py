"""Our side of ``tools/bench/vs_infini_gram.py``: ``dolma_tools.index`` over the token shards.

``mode`` build: a round indexes the shards into ``<work>/index`` (removed first), the memory budget
``memory_mb``; its output is the number of tokens and the counts of the first 50 queries. count: a
round counts every query. locate: a round finds every occurrence of each query counted at most
``max_locate`` times (document, raw shard, offset) and reads the matched tokens back, as infini-gram's
``get_docs_by_ranks_2`` does. count and locate open the index the build rounds left (setup, untimed).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from dolma_tools.index import IndexConfig, TokenIndex, build_index


def setup(config: dict[str, Any]):
    work = Path(config["work"])
    queries = json.loads(Path(config["queries"]).read_text())
    index_dir = work / "index"
    if config["mode"] == "build":
        def build() -> dict[str, Any]:
            shutil.rmtree(index_dir, ignore_errors=True)
            summary = build_index(config["tokens"], index_dir, IndexConfig(memory_mb=int(config["memory_mb"])))
            with TokenIndex(index_dir) as index:
                counts = [index.count(q) for q in queries[:50]]
            return {"units": summary["num_tokens"], "output": {"tokens": summary["num_tokens"], "counts": counts}}
        return build
    index = TokenIndex(index_dir)
    if config["mode"] == "count":
        def count() -> dict[str, Any]:
            return {"units": len(queries), "output": [index.count(q) for q in queries]}
        return count
    cap = int(config["max_locate"])

    def locate() -> dict[str, Any]:
        out: list[list[int] | None] = []
        for q in queries:
            if index.count(q) > cap:
                out.append(None)
                continue
            docs = []
            for occ in index.locate(q):
                index.tokens(occ.position, occ.position + len(q))
                docs.append(occ.document)
            out.append(sorted(docs))
        return {"units": len(queries), "output": out}
    return locate
