"""Tokenized datasets cached on disk, keyed by everything that determines their content.

Key = sha256 of: the kind (sft/dpo), each source's spec and file sha256, the mix seed, the
tokenizer's full JSON, the template's name and version, and the maximum length. A cache entry is a
folder ``<cache>/<kind>-<key[:16]>/`` with ``arrays.npz`` and ``meta.json`` (stats, key parts); it is
built under a temporary name (``.<entry>.tmp-<pid>-*``) and renamed into place, so a half-written entry
is never read; the temporaries of a killed builder are removed by the next one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from olmo_core.faults import fault_point
from olmo_core.interfaces import file_sha256
from open_instruct.data.mixing import MixSource, MixStats, SourceStats, mix, mixed_ids
from open_instruct.data.sources import Kind
from open_instruct.data.template import get_template
from open_instruct.data.tokenize import TokenizedData, tokenize_dpo, tokenize_sft
from open_instruct.tokenizer import ChatTokenizer

CACHE_VERSION = 1


def cache_key(kind: Kind, sources: list[MixSource], seed: int, tokenizer: ChatTokenizer, template: str,
              max_length: int, exclude: list[MixSource] | None = None) -> tuple[str, dict]:
    tmpl = get_template(template)
    parts = {"cache_version": CACHE_VERSION, "kind": kind, "seed": seed, "max_length": max_length,
             "template": {"name": tmpl.name, "version": tmpl.version},
             "tokenizer_sha256": tokenizer.fingerprint(), "sources": _content(sources)}
    if exclude:
        parts["exclude"] = _content(exclude)
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return key, parts


def _content(specs: list[MixSource]) -> list[dict]:
    # The path itself is not part of the content: the same file elsewhere hits the same entry.
    return [{"spec": s.describe().replace(s.path, Path(s.path).name, 1), "sha256": file_sha256(s.path)} for s in specs]


def default_cache_dir() -> Path:
    return Path(os.environ.get("OPEN_INSTRUCT_CACHE", Path.home() / ".cache" / "open_instruct"))


def load_tokenized(kind: Kind, sources: list[MixSource | str], tokenizer: ChatTokenizer, *, template: str = "tulu",
                   max_length: int = 2048, seed: int = 0, cache_dir: str | Path | None = None,
                   exclude: list[MixSource | str] | None = None, log=print) -> tuple[TokenizedData, MixStats]:
    """Mix, template and tokenize the sources, or read the cached result. ``exclude``: mixes (same
    spec syntax, same seed) whose records' ids are left out of this one (see ``mixed_ids``)."""
    specs = [MixSource.parse(s) if isinstance(s, str) else s for s in sources]
    ex_specs = [MixSource.parse(s) if isinstance(s, str) else s for s in exclude or []]
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key, parts = cache_key(kind, specs, seed, tokenizer, template, max_length, ex_specs)
    entry = cache_dir / f"{kind}-{key[:16]}"
    if (entry / "meta.json").is_file():
        return _read(entry, kind)
    ids = mixed_ids(ex_specs, seed=seed, cache_dir=cache_dir / "datasets") if ex_specs else frozenset()
    records, stats = mix(specs, kind, seed=seed, cache_dir=cache_dir / "datasets", exclude_ids=ids)
    tmpl = get_template(template)
    data = (tokenize_sft if kind == "sft" else tokenize_dpo)(records, tokenizer, tmpl, max_length, stats)
    if data.num_sequences == 0:
        raise ValueError(f"no {kind} examples left after tokenizing (all longer than {max_length}?)")
    data.meta = {"key": key, "key_parts": parts, "stats": stats.to_dict()}
    _write(entry, data)
    log(f"tokenized {data.num_examples} {'pairs' if kind == 'dpo' else 'examples'} -> {entry}")
    return data, stats


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_builds(entry: Path) -> list[Path]:
    """Delete the temporary folders of ``entry`` whose builder process is gone (killed mid-build);
    a live builder's folder (another rank, another run on this machine) is left alone."""
    prefix = f".{entry.name}.tmp-"
    removed = []
    if not entry.parent.is_dir():
        return removed
    for p in entry.parent.iterdir():
        pid = p.name[len(prefix):].split("-", 1)[0]
        if p.name.startswith(prefix) and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _write(entry: Path, data: TokenizedData) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(entry)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-{os.getpid()}-", dir=entry.parent))
    try:
        np.savez(tmp / "arrays.npz", **data.arrays())
        # meta.json last: its presence marks a finished entry.
        (tmp / "meta.json").write_text(json.dumps(data.meta, indent=1))
        fault_point("cache.before_rename")  # the chaos tests kill here: a complete build, not yet the entry
        # A plain rename, not olmo_core.fileio.commit: the first finished entry wins and is never
        # replaced under a rank that may be reading it.
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / "meta.json").is_file():  # lost a race to nobody: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read(entry: Path, kind: Kind) -> tuple[TokenizedData, MixStats]:
    meta = json.loads((entry / "meta.json").read_text())
    with np.load(entry / "arrays.npz") as z:
        data = TokenizedData(kind, z["input_ids"], z["labels"], z["offsets"], z["source"], meta)
    st = meta["stats"]
    return data, MixStats(st["seed"], [SourceStats(**s) for s in st["sources"]])
