"""Resuming reads the trainer and RNG files as data only: a checkpoint whose pickle would run code
is refused with an error naming the file, and the code never runs."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from olmo_core.checkpoint.rng import rng_state, set_rng_state
from olmo_core.checkpoint.train_state import _load_plain


class Payload:
    """What an attacker pickles: unpickling it would create a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_a_trainer_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "trainer.pt"
    torch.save({"step": 3, "callbacks": Payload(marker)}, path)
    with pytest.raises(ValueError, match="trainer.pt"):
        _load_plain(path)
    assert not marker.exists(), "unpickling ran the payload"


def test_rng_state_round_trips_through_a_weights_only_load(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.normal()  # a cached Gaussian is part of NumPy's state
    path = tmp_path / "rank0.pt"
    torch.save({"rng": rng_state()}, path)
    expected = (random.random(), np.random.normal(), np.random.randint(1 << 30), torch.rand(3))
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    set_rng_state(_load_plain(path)["rng"])
    got = (random.random(), np.random.normal(), np.random.randint(1 << 30), torch.rand(3))
    assert got[:3] == expected[:3]
    assert torch.equal(got[3], expected[3])
