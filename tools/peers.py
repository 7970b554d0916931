"""The one place tests and benchmarks get the OLMo-core peer from.

``ai2-olmo-core`` imports as ``olmo_core``, the same name as our package, so the two never share an
interpreter: the peer lives in its own cached virtual environment (:class:`harness.PeerEnv`, on exactly
the workspace's torch) and is driven through a subprocess that reads and writes files (safetensors, npz,
JSON, DCP directories).

Use from a test or benchmark::

    sys.path.insert(0, str(REPO / "tools"))
    import peers
    out = peers.run_olmo_core(SCRIPT, "--out", str(tmp_path))   # SCRIPT: a .py path or source text
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
import harness  # noqa: E402

OLMO_CORE_VERSION = "3.0.0"
#: ai2-olmo-core 3.0.0 requires torch>=2.10,<2.14, so it cannot run on the workspace's torch (2.15);
#: it gets the newest torch it accepts, pinned so its numbers do not drift between runs.
OLMO_CORE_TORCH = "2.13.0"


def olmo_core_peer() -> harness.PeerEnv:
    """``ai2-olmo-core`` 3.0.0 with the newest torch it accepts; its own requirements (safetensors,
    numpy, cached-path, ...) come with it."""
    return harness.PeerEnv((f"ai2-olmo-core=={OLMO_CORE_VERSION}", f"torch=={OLMO_CORE_TORCH}"))


def peer_env() -> dict[str, str]:
    """The peer subprocess's environment: offline, no GPU unless asked for, and none of our own
    packages on its path (PYTHONPATH from a uv run would put our ``olmo_core`` first)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(harness.OFFLINE_ENV)
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def run_olmo_core(script: str | Path, *args: str, timeout: float = 1800, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (a path to a .py file, or Python source) with the peer's interpreter; raise
    ``RuntimeError`` with its stderr if it fails. Returns the completed process (stdout captured)."""
    python = olmo_core_peer().python
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(script, str) and not script.endswith(".py"):
            path = Path(tmp) / "peer_script.py"
            path.write_text(script)
        else:
            path = Path(script)
        proc = subprocess.run([str(python), str(path), *args], capture_output=True, text=True, timeout=timeout,
                              cwd=cwd or tmp, env={**peer_env(), **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"OLMo-core peer script {path.name} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-6000:]}")
    return proc


if __name__ == "__main__":  # `uv run python tools/peers.py`: install (if needed) and print the peer's python
    print(olmo_core_peer().python)
