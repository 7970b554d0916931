"""Every random-number generator a training step may touch, captured and restored per rank."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    """Plain data only (tensors, numbers, strings, tuples), so a checkpoint loads with
    ``torch.load(weights_only=True)``: NumPy's key array travels as a tensor."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {"python": random.getstate(),
                             "numpy": (str(name), torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos),
                                       int(has_gauss), float(gauss)),
                             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (as OLMo-core's ``seed_all`` does), so a
    checkpoint's RNG state is the same for every run of one config, not drawn from the OS at start-up."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
