"""The stack's data stages (filter, decontaminate, tokens) with ``data.executor=ray`` on a local Ray
cluster give the files the local executor gave the session's smoke demo, byte for byte: the only
differences allowed are the run folder's own path where a file records it (token metadata names the
document files it read) and the times a summary records. Run through the CLI with the overrides after
``--until``, the order the generated ``data_ray.sh`` uses."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

TIMED = {"seconds", "tokenize_seconds", "tokens_per_second", "run_key"}


def _normalized(path: Path, run: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
    if path.name == "summary.json":
        obj = {k: v for k, v in json.loads(data).items() if k not in TIMED}
        data = json.dumps(obj, sort_keys=True).encode()
    return hashlib.sha256(data.replace(str(run).encode(), b"<run>")).hexdigest()


def _tree(root: Path, run: Path) -> dict[str, str]:
    # done-markers are named by a hash of their path: their presence is compared, not their names
    return {p.relative_to(root).as_posix(): _normalized(p, run) for p in sorted(root.rglob("*"))
            if p.is_file() and "/.done/" not in f"/{p.relative_to(root).as_posix()}"}


def test_data_stages_on_ray_equal_the_local_run(smoke_demo: tuple[Path, float], tmp_path: Path) -> None:
    local, _ = smoke_demo
    ray_run = tmp_path / "ray_run"
    argv = [sys.executable, "-m", "olmo_stack.cli", "run", "smoke", f"out={ray_run}", "--until", "tokens",
            "data.executor=ray"]
    proc = subprocess.run(argv, env={**os.environ, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for stage in ("filter", "decontaminate", "tokens"):
        manifest = json.loads((ray_run / stage / "manifest.json").read_text())
        assert manifest["config"]["executor"] == "ray", stage
    for sub in ("filter/dolma/deduped", "decontaminate/clean", "tokens/tokens", "tokens/heldout"):
        want, got = _tree(local / sub, local), _tree(ray_run / sub, ray_run)
        assert want and got == want, sub
