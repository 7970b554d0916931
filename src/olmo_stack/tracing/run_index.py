"""The index of a run: ``<run>/index``, built by ``dolma_tools.index`` over exactly the token shards
pretraining read (``data.paths`` of ``<run>/pretrain/config.*``, in the order it concatenated them), so
a position in the index is a position in the training stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

INDEX_DIR = "index"


def pretrain_dir(run: str | Path) -> Path:
    path = Path(run) / "pretrain"
    if not path.is_dir():
        raise FileNotFoundError(f"{run}: no pretrain folder; is this a run folder (olmo-stack run/demo --out)?")
    return path


def data_paths(run: str | Path) -> list[str]:
    from olmo_core.config.load import load_data_config

    paths = list(load_data_config(pretrain_dir(run)).paths)
    if not paths:
        raise ValueError(f"{pretrain_dir(run)}: field 'data.paths' is empty")
    return paths


def index_dir(run: str | Path) -> Path:
    return Path(run) / INDEX_DIR


def index_is_current(run: str | Path) -> bool:
    """The index exists and its shards are the run's, unchanged (path, size, modification time)."""
    import json

    from dolma_tools.index.corpus import find_shard_paths

    meta = index_dir(run) / "index.json"
    if not meta.is_file():
        return False
    recorded = [(s["path"], s["size"], s["mtime_ns"]) for s in json.loads(meta.read_text())["shards"]]
    current = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in find_shard_paths(data_paths(run))]
    return recorded == current


def build_run_index(run: str | Path, *, memory_mb: int = 1024, force: bool = False,
                    progress: Any = None) -> dict[str, Any]:
    """Build ``<run>/index`` unless it is current; return its ``index.json``."""
    import json

    from dolma_tools.index import IndexConfig, build_index

    if not force and index_is_current(run):
        return {**json.loads((index_dir(run) / "index.json").read_text()), "reused": True}
    return build_index(data_paths(run), index_dir(run), IndexConfig(memory_mb=memory_mb), progress=progress)
