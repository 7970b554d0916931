"""The manifest that marks a checkpoint folder finished."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_core.fileio import write_json_atomic
from olmo_core.interfaces import CheckpointManifest, file_sha256


def write_manifest(folder: Path, step: int, sharded: bool) -> CheckpointManifest:
    """List every file under ``folder`` with size and SHA-256, then write ``manifest.json`` last."""
    files: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            files[p.relative_to(folder).as_posix()] = {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
    manifest = CheckpointManifest(step=step, files=files, sharded=sharded)
    write_json_atomic(folder / "manifest.json", manifest.to_json(), sort_keys=True)
    return manifest
