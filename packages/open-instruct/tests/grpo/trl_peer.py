"""TRL 1.16, pinned, in its own cached virtual environment (``tools/bench/harness.PeerEnv``; the same
requirements as ``tools/bench/dpo_step.py``'s TRL side, so one environment serves both): TRL is never
imported in our interpreter. .ci/run builds ``PEER`` before the package suites."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "tools" / "bench"))
import harness  # noqa: E402

PEER = harness.PeerEnv(("trl==1.16.0", "transformers==5.24.0", harness.workspace_pin("torch"), "accelerate==1.16.0",
                        "datasets==5.2.0", harness.workspace_pin("tokenizers")))
