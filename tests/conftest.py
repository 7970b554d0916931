"""Shared fixtures for the cross-package integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        raise RuntimeError(f"the shared data folder {SHARED} is missing: clone beside ../shared")
    return SHARED


def smoke_demo_argv(out: Path) -> list[str]:
    return [sys.executable, "-m", "olmo_stack.cli", "demo", "--preset", "smoke", "--out", str(out)]


SMOKE_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="session")
def smoke_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """One uninterrupted ``olmo-stack demo --preset smoke`` per session (the run folder and its seconds),
    shared by tests/stack/test_pipeline.py and tests/chaos/test_chaos_demo.py: it is the slowest command."""
    out = tmp_path_factory.mktemp("stack") / "run"
    t0 = time.perf_counter()
    proc = subprocess.run(smoke_demo_argv(out), env=SMOKE_ENV, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, time.perf_counter() - t0
