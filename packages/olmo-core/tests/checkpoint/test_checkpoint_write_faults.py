"""A checkpoint write that fails (a full disk, a lost mount) or was killed: the error names the checkpoint,
why, and the last complete one; the half-written folder is removed and never listed; the checkpoints
already there stay whole. The kills themselves, through the ``olmo-core train`` command, are in
``tests/chaos/test_chaos_train.py``."""

from __future__ import annotations

import errno
import random
import shutil
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributed.checkpoint.api import CheckpointException

import olmo_core.checkpoint.manager as manager
from olmo_core.checkpoint.manager import (
    CheckpointConfig,
    CheckpointWriteError,
    latest_checkpoint,
    list_checkpoints,
)
from olmo_core.checkpoint.rng import seed_all
from olmo_core.interfaces import validate_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from trainer_testlib import make_trainer, small_config, small_model  # noqa: E402


def _trainer(tmp_path: Path):  # type: ignore[no-untyped-def]
    ids = torch.randint(2, 99, (2, 8), generator=torch.Generator().manual_seed(1))
    trainer = make_trainer(small_model(), [[{"input_ids": ids[:, :-1], "labels": ids[:, 1:]}]], tmp_path,
                           checkpoint=CheckpointConfig(keep_last=1))
    trainer.run_config = {"model": small_config().to_dict()}
    trainer.step = 1
    return trainer


def _failing_train_state(error: BaseException):  # type: ignore[no-untyped-def]
    def save_train_state(folder: Path, **_kw) -> None:  # type: ignore[no-untyped-def]
        (folder / "train").mkdir()
        (folder / "train" / "half.distcp").write_bytes(b"\0" * 1000)  # what the writer got out before failing
        raise error
    return save_train_state


FULL_DISK_ERRORS = {
    "oserror": OSError(errno.ENOSPC, "No space left on device"),
    "safetensors": RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),
    # torch.distributed.checkpoint raises a BaseException holding each rank's error
    "dcp": CheckpointException("write", {0: (OSError(errno.ENOSPC, "No space left on device"), [])}),
}


@pytest.mark.parametrize("kind", list(FULL_DISK_ERRORS))
def test_a_failed_write_names_the_checkpoint_and_leaves_the_previous_one_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    trainer = _trainer(tmp_path)
    first = trainer.save_checkpoint()
    before = validate_checkpoint(first, verify_hashes=True)
    monkeypatch.setattr(manager, "save_train_state", _failing_train_state(FULL_DISK_ERRORS[kind]))
    trainer.step = 2
    with pytest.raises(CheckpointWriteError) as e:
        trainer.save_checkpoint()
    assert str(e.value).startswith(f"checkpoint {tmp_path / 'checkpoints' / 'step2'} not written: no space left on "
                                   f"device (")
    assert str(e.value).endswith(f"; the last complete checkpoint is {first}") and "\n" not in str(e.value)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step1"]  # no .step2.partial
    assert validate_checkpoint(first, verify_hashes=True) == before  # keep_last=1 pruned nothing
    assert latest_checkpoint(tmp_path) == first


def test_a_writer_that_only_says_it_failed_is_a_full_disk_when_the_disk_is_full(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.save on a full disk says only "unexpected pos 576 vs 534": the free space decides."""
    trainer = _trainer(tmp_path)
    error = RuntimeError("[enforce fail at inline_container.cc:671] . unexpected pos 576 vs 534")
    monkeypatch.setattr(manager, "save_train_state", _failing_train_state(error))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(CheckpointWriteError, match=r"step1 not written: no space left on device \(4,096 bytes "
                                                   r"free\); no complete checkpoint yet$"):
        trainer.save_checkpoint()
    assert list((tmp_path / "checkpoints").iterdir()) == []


def test_other_write_errors_keep_their_own_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = _trainer(tmp_path)
    error = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x"))
    monkeypatch.setattr(manager, "save_train_state", _failing_train_state(error))
    with pytest.raises(CheckpointWriteError, match=r"step1 not written: \[Errno 13\] Permission denied: '.*x'; "):
        trainer.save_checkpoint()
    assert isinstance(CheckpointWriteError("x"), OSError)


def test_partial_folders_of_killed_writes_are_discarded_at_start(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path)
    done = trainer.save_checkpoint()
    root = tmp_path / "checkpoints"
    (root / ".step3.partial" / "train").mkdir(parents=True)  # killed inside its train state
    (root / ".step12.partial").mkdir()
    (root / ".step12.partial" / "manifest.json").write_text("{}")  # complete but never renamed
    (root / "notes").mkdir()  # not ours to remove
    removed = trainer.checkpoints.discard_partials()
    assert sorted(p.name for p in removed) == [".step12.partial", ".step3.partial"]
    assert sorted(p.name for p in root.iterdir()) == ["notes", "step1"]
    assert [p for _s, p in list_checkpoints(tmp_path)] == [done]
    trainer.fit()  # at the last step already: nothing to train, and nothing else to remove
    assert sorted(p.name for p in root.iterdir()) == ["notes", "step1"]


def test_seed_all_seeds_python_numpy_and_torch() -> None:
    """A checkpoint's RNG file is then the same for every run of a config (references: fresh generators)."""
    seed_all(1234)
    got = (random.random(), float(np.random.rand()), torch.rand(3))
    assert got[0] == random.Random(1234).random()
    assert got[1] == float(np.random.RandomState(1234).rand())
    assert torch.equal(got[2], torch.rand(3, generator=torch.Generator().manual_seed(1234)))
