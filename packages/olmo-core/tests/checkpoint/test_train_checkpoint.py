"""Training checkpoints: layout and manifest, sharded and unsharded weights readable by
load_model_checkpoint, refusal of damaged ones, keep-last-k with permanent steps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from olmo_core.checkpoint.manager import (
    CheckpointConfig,
    CheckpointManager,
    latest_checkpoint,
    list_checkpoints,
)
from olmo_core.checkpoint.model_io import load_model_checkpoint
from olmo_core.interfaces import InterfaceError, validate_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from trainer_testlib import ListLoader, make_trainer, small_config, small_model  # noqa: E402


def _steps(n: int) -> list:
    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(n):
        ids = torch.randint(2, 99, (2, 8), generator=g)
        out.append([{"input_ids": ids[:, :-1], "labels": ids[:, 1:]}])
    return out


@pytest.mark.parametrize("sharded", [False, True])
def test_checkpoint_layout_and_model_reload(tmp_path: Path, sharded: bool) -> None:
    model = small_model()
    trainer = make_trainer(model, _steps(2), tmp_path, checkpoint=CheckpointConfig(sharded=sharded))
    trainer.run_config = {"model": small_config().to_dict()}
    for mbs in trainer.loader:
        trainer.train_step(mbs)
        trainer.step += 1
    path = trainer.save_checkpoint()
    assert path == tmp_path / "checkpoints" / "step2"
    manifest = validate_checkpoint(path)
    assert manifest.step == 2 and manifest.sharded is sharded
    assert ("model.safetensors" in manifest.files) is (not sharded)
    assert any(f.startswith("model/") for f in manifest.files) is sharded
    assert "train/trainer.pt" in manifest.files and "train/rank0.pt" in manifest.files
    loaded = load_model_checkpoint(path)
    for (n, p), (n2, q) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n == n2 and torch.equal(p, q), n


def test_damaged_checkpoints_are_refused_and_skipped(tmp_path: Path) -> None:
    model = small_model()
    trainer = make_trainer(model, _steps(2), tmp_path, checkpoint=CheckpointConfig(keep_last=5))
    trainer.run_config = {"model": small_config().to_dict()}
    trainer.step = 1
    first = trainer.save_checkpoint()
    trainer.step = 2
    second = trainer.save_checkpoint()
    (tmp_path / "checkpoints" / ".step3.partial").mkdir()  # a save killed midway
    assert latest_checkpoint(tmp_path) == second
    weights = second / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.warns(UserWarning, match="model.safetensors: 100 bytes"):
        assert latest_checkpoint(tmp_path) == first
    with pytest.raises(InterfaceError, match="truncated"):
        CheckpointManager.load(second, model=small_model(), optimizer=None)


def test_keep_last_k_plus_permanent(tmp_path: Path) -> None:
    model = small_model()
    trainer = make_trainer(model, _steps(1), tmp_path, checkpoint=CheckpointConfig(keep_last=2, permanent_every=4))
    trainer.run_config = {"model": small_config().to_dict()}
    for step in range(1, 10):
        trainer.step = step
        trainer.save_checkpoint()
    assert [s for s, _ in list_checkpoints(tmp_path)] == [4, 8, 9]
    assert isinstance(trainer.loader, ListLoader)
