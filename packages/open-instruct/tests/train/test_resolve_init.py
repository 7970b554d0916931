"""``init_from``: a checkpoint, a run folder (its latest valid checkpoint) or a model preset."""

from __future__ import annotations

import json

import pytest

from olmo_core.checkpoint.model_io import save_model_checkpoint
from open_instruct.train.common import resolve_init


def test_checkpoint_run_folder_and_a_folder_with_a_manifest_of_its_own(tiny_model, tiny_model_config, tmp_path) -> None:
    save_model_checkpoint(tiny_model, tmp_path / "ckpt")
    assert resolve_init(str(tmp_path / "ckpt")) == (tiny_model_config, tmp_path / "ckpt")

    # An olmo-stack stage folder: its own manifest.json beside checkpoints/; the checkpoint is inside.
    run = tmp_path / "pretrain"
    for step in (3, 7):
        save_model_checkpoint(tiny_model, run / "checkpoints" / f"step{step}")
    (run / "manifest.json").write_text(json.dumps({"format": "olmo-stack/stage", "stage": "pretrain"}))
    cfg, ckpt = resolve_init(str(run))
    assert cfg == tiny_model_config and ckpt == run / "checkpoints" / "step7"

    with pytest.raises(FileNotFoundError, match="no valid checkpoint"):
        resolve_init(str(tmp_path / "ckpt" / ".."))  # a folder with neither
    with pytest.raises(FileNotFoundError, match="neither a checkpoint"):
        resolve_init("no_such_preset")
