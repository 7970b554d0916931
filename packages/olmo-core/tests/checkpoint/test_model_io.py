"""Model-only checkpoints: exact round trip, the manifest contract, refusal of damaged folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint
from olmo_core.interfaces import InterfaceError, validate_checkpoint
from olmo_core.model import get_model_preset


def _cfg(preset: str = "tiny"):
    return get_model_preset(preset).replace(d_model=32, n_heads=2, mlp_hidden_size=64, vocab_size=200,
                                            embedding_size=256, eos_token_id=0)


@pytest.mark.parametrize("preset", ["tiny", "tiny_olmo2"])
def test_round_trip_is_exact(tmp_path: Path, preset: str) -> None:
    model = _cfg(preset).build()
    model.init_weights(seed=11)
    out = save_model_checkpoint(model, tmp_path / "step5", step=5, extra_config={"run": {"name": "x"}})
    manifest = validate_checkpoint(out)
    assert manifest.step == 5 and not manifest.sharded
    assert set(manifest.files) == {"config.json", "model.safetensors"}
    config = json.loads((out / "config.json").read_text())
    assert config["run"] == {"name": "x"} and config["model"] == model.config.to_dict()
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert ("lm_head.weight" in keys) == (not model.config.weight_tying)
    loaded = load_model_checkpoint(out)
    assert loaded.config == model.config
    for (n, p), (m, q) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n == m and torch.equal(p, q), n
    if model.config.weight_tying:
        assert loaded.lm_head.weight is loaded.embeddings.weight
    x = torch.randint(0, 200, (1, 6))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_damaged_checkpoints_are_refused(tmp_path: Path) -> None:
    out = save_model_checkpoint(_cfg().build(), tmp_path / "ck")
    data = (out / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(data[:-10])
    with pytest.raises(InterfaceError, match="model.safetensors"):
        load_model_checkpoint(out)
    (out / "model.safetensors").write_bytes(data)
    load_model_checkpoint(out)
    (out / "manifest.json").unlink()
    with pytest.raises(InterfaceError, match="manifest"):
        load_model_checkpoint(out)


def test_overwrite_removes_stale_manifest_first(tmp_path: Path) -> None:
    out = save_model_checkpoint(_cfg().build(), tmp_path / "ck", step=1)
    save_model_checkpoint(_cfg().build(), out, step=2)
    assert validate_checkpoint(out).step == 2
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "manifest.json", "model.safetensors"]
