"""Atomic writes and the manifest that marks a checkpoint folder finished."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from olmo_core.interfaces import CheckpointManifest, file_sha256


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_manifest(folder: Path, step: int, sharded: bool) -> CheckpointManifest:
    """List every file under ``folder`` with size and SHA-256, then write ``manifest.json`` last."""
    files: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            files[p.relative_to(folder).as_posix()] = {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
    manifest = CheckpointManifest(step=step, files=files, sharded=sharded)
    write_json_atomic(folder / "manifest.json", manifest.to_json())
    return manifest
