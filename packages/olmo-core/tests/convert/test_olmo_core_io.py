"""The OLMo-core checkpoint reader's own contracts, without the peer (its parity with the peer is in
test_olmo_core_peer.py): torch's two optimizer-state layouts read the same; bad input is refused
with a message naming what is wrong."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

from olmo_core.convert.dcp_files import PeerAwareReader, read_dcp, write_dcp
from olmo_core.convert.olmo_core_io import from_olmo_core, per_param_optim
from olmo_core.model import get_model_preset
from olmo_core.optim.adamw import OptimConfig


def stepped_adamw() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = get_model_preset("tiny_olmo2").replace(d_model=32, n_heads=2, mlp_hidden_size=64).build()
    opt = OptimConfig(lr=1e-3, fused=False).build(model)
    model(torch.tensor([[1, 2, 3, 4]])).sum().backward()
    opt.step()
    return model, opt


def test_nested_and_flattened_optimizer_state_read_the_same() -> None:
    model, opt = stepped_adamw()
    nested = get_optimizer_state_dict(model, opt)
    flat = get_optimizer_state_dict(model, opt, options=StateDictOptions(flatten_optimizer_state_dict=True))
    assert any(k.startswith("state.") for k in flat)  # torch's own flattening, the golden layout
    a, b = per_param_optim(nested, source="nested"), per_param_optim(flat, source="flat")
    assert a.state.keys() == b.state.keys() == {n for n, _ in model.named_parameters()}
    for name in a.state:
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(a.state[name][key], b.state[name][key])
        assert a.groups[name]["weight_decay"] == b.groups[name]["weight_decay"]
    assert a.step == b.step == 1
    assert a.groups["embeddings.weight"]["weight_decay"] == 0.0
    assert a.groups["blocks.0.attention.w_q.weight"]["weight_decay"] > 0


def test_other_optimizers_are_refused_by_name() -> None:
    state = {"state": {"w": {"step": torch.tensor(1.0), "momentum_buffer": torch.zeros(2)}},
             "param_groups": [{"lr": 0.1, "params": ["w"]}]}
    with pytest.raises(ValueError, match="momentum_buffer.*only AdamW"):
        per_param_optim(state, source="ckpt")


def test_dcp_round_trip_and_foreign_classes_refused(tmp_path: Path) -> None:
    state = {"model": {"w": torch.arange(6.0).reshape(2, 3)}, "optim": {"param_groups.w.lr": 0.5}}
    write_dcp(tmp_path / "d", state)
    back = read_dcp(tmp_path / "d")
    assert torch.equal(back["model"]["w"], state["model"]["w"]) and back["optim"]["param_groups.w.lr"] == 0.5
    # a metadata pickle naming anything outside DCP's data classes is never unpickled
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / ".metadata").write_bytes(pickle.dumps(Planted()))
    with pytest.raises(ValueError, match=r"\.metadata: .*Planted, which a checkpoint may not"):
        PeerAwareReader(str(tmp_path / "evil")).read_metadata()


class Planted:
    pass


def test_missing_config_and_non_checkpoints_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an OLMo-core checkpoint"):
        from_olmo_core(tmp_path, tmp_path / "out")
    write_dcp(tmp_path / "ckpt", {"model": {"w": torch.zeros(2)}})
    with pytest.raises(ValueError, match="no OLMo-core config.json.*--config"):
        from_olmo_core(tmp_path / "ckpt", tmp_path / "out")
    assert not (tmp_path / "out").exists()
