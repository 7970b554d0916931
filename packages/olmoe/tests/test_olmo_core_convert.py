"""OLMo-core 3.0's MoE transformer (``TransformerConfig.olmoe_1B_7B`` scaled down: 2 layers, d_model 64,
8 experts of hidden 32, top-2) against ours, with the peer running in its own environment
(``tools/peers.py``; the driver script is olmo-core's ``tests/convert/olmo_core_peer_script.py``):

* OLMo-core builds and initializes the model itself; its config and state dict convert to ours (found
  through olmo-core's registry, which loads olmoe's plug-in) and back to exactly the same tensors;
  our config converted to OLMo-core builds the same model there;
* on real corpus tokens the same weights give the same fp32 logits (1e-5). On a CPU OLMo-core's MoE
  stops in its Triton kernels ("0 active drivers"): there the peer runs with its two permutation kernels
  (gather/scatter) replaced by torch equivalents and everything else as shipped; with CUDA present
  (or ``OLMO_TEST_DEVICE=cuda``) it runs unmodified on the GPU."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import TOKENIZER, read_docs
from safetensors.torch import load_file, save_file

from olmo_core.checkpoint.model_io import load_model_state
from olmo_core.convert import olmo_core_converter_for_config, olmo_core_converter_for_peer

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "packages" / "olmo-core" / "tests" / "convert" / "olmo_core_peer_script.py"
sys.path.insert(0, str(REPO / "tools"))
import peers  # noqa: E402

DEVICE = os.environ.get("OLMO_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
SCALED = ["--set", "block.feed_forward_moe.num_experts=8", "--set", "block.feed_forward_moe.router.top_k=2"]


@pytest.fixture(scope="module")
def peer_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        peers.olmo_core_peer().ensure()
    except Exception as e:  # noqa: BLE001 - any install failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"the OLMo-core peer is missing under CI: {e}")
        pytest.skip(f"the OLMo-core peer cannot be installed here: {e}")
    d = tmp_path_factory.mktemp("olmoe_peer")
    peers.run_olmo_core(SCRIPT, "init", "--preset", "olmoe_1B_7B", "--vocab-size", "50304",
                        "--set", "d_model=64", "--set", "n_layers=2", "--set", "block.sequence_mixer.n_heads=4",
                        "--set", "block.feed_forward_moe.hidden_size=32", *SCALED,
                        "--config-out", str(d / "config.json"), "--out", str(d / "weights.safetensors"), timeout=900)
    return d


def test_state_dict_round_trip(peer_model: Path) -> None:
    peer_cfg = json.loads((peer_model / "config.json").read_text())
    conv = olmo_core_converter_for_peer(peer_cfg)
    assert conv.name == "olmoe"
    cfg = conv.from_peer_config(peer_cfg)
    opts = cfg.feed_forward.options
    assert (cfg.d_model, cfg.n_layers, cfg.reordered_norm, opts["num_experts"], opts["top_k"], opts["hidden_size"],
            opts["renormalize"]) == (64, 2, True, 8, 2, 32, False)
    theirs = load_file(peer_model / "weights.safetensors")
    ours = conv.from_peer_state(cfg, theirs)
    model = cfg.build(init_device="meta")
    model.to_empty(device="cpu")
    load_model_state(model, ours)  # strict: every parameter of our MoE model, nothing else
    back = conv.to_peer_state(cfg, ours)
    assert set(back) == set(theirs)
    for k in theirs:
        assert torch.equal(back[k], theirs[k]), k
    # the converter must not be the identity on the experts: one expert's SwiGLU by OLMo-core's
    # formula (x @ w1[e].T, x @ w3[e].T, h @ w2[e], weights viewed [E, H, D]) equals ours
    x = torch.randn(5, 64, generator=torch.Generator().manual_seed(0))
    w1, w2, w3 = (theirs[f"blocks.1.feed_forward_moe.experts.mlp.{n}"].view(8, 32, 64) for n in ("w1", "w2", "w3"))
    want = (torch.nn.functional.silu(x @ w1[3].T) * (x @ w3[3].T)) @ w2[3]
    gate_up, down = ours["blocks.1.feed_forward.gate_up"][3], ours["blocks.1.feed_forward.down"][3]
    g, u = (x @ gate_up).chunk(2, dim=-1)
    torch.testing.assert_close((torch.nn.functional.silu(g) * u) @ down, want, rtol=0, atol=1e-6)
    # our config, converted, is OLMo-core's own
    mine = conv.peer_config(cfg)
    assert mine["block"]["feed_forward_moe"]["router"]["top_k"] == peer_cfg["block"]["feed_forward_moe"]["router"]["top_k"]
    assert olmo_core_converter_for_config(cfg) is conv


def test_same_weights_same_logits(peer_model: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    ids = []
    for d in read_docs("books", 2) + read_docs("code", 2):
        ids += tok.encode(d["text"], add_special_tokens=False).ids[:64]
    tokens = np.array(ids[:256], dtype=np.int64).reshape(2, 128)
    np.save(tmp_path / "tokens.npy", tokens)
    peer_cfg = json.loads((peer_model / "config.json").read_text())
    conv = olmo_core_converter_for_peer(peer_cfg)
    cfg = conv.from_peer_config(peer_cfg)
    state = conv.from_peer_state(cfg, load_file(peer_model / "weights.safetensors"))
    # the peer runs twice: on its own config and weights, and on ours converted (config included)
    (tmp_path / "ours.json").write_text(json.dumps(conv.peer_config(cfg)))
    save_file({k: v.contiguous() for k, v in conv.to_peer_state(cfg, state).items()}, str(tmp_path / "ours.safetensors"))
    jobs = [{"config": str(peer_model / "config.json"), "weights": str(peer_model / "weights.safetensors"),
             "tokens": str(tmp_path / "tokens.npy"), "out": str(tmp_path / "theirs.npy")},
            {"config": str(tmp_path / "ours.json"), "weights": str(tmp_path / "ours.safetensors"),
             "tokens": str(tmp_path / "tokens.npy"), "out": str(tmp_path / "theirs_from_ours.npy")}]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    extra = ["--device", DEVICE] + (["--cpu-moe-ops"] if DEVICE == "cpu" else [])
    peers.run_olmo_core(SCRIPT, "logits", "--jobs", str(tmp_path / "jobs.json"), *extra, timeout=900)
    model = cfg.build(init_device="meta")
    model.to_empty(device=DEVICE)
    load_model_state(model, {k: v.to(DEVICE) for k, v in state.items()})
    with torch.no_grad():
        ours = model.eval()(torch.from_numpy(tokens).to(DEVICE)).float().cpu().numpy()
    theirs = np.load(tmp_path / "theirs.npy")
    assert theirs.std() > 0.05
    assert float(np.abs(np.load(tmp_path / "theirs_from_ours.npy") - theirs).max()) == 0.0
    diff = float(np.abs(ours - theirs).max())
    print(f"MoE on {DEVICE}: max |logit difference| {diff:.2e}")
    assert diff <= 1e-5, f"MoE logits differ by {diff} on {DEVICE}"


def test_unsupported_moe_configs_are_refused_by_name(peer_model: Path) -> Any:
    peer_cfg = json.loads((peer_model / "config.json").read_text())
    peer_cfg["block"]["feed_forward_moe"]["shared_mlp"] = {"hidden_size": 64}
    with pytest.raises(ValueError, match="shared MLP"):
        olmo_core_converter_for_peer(peer_cfg)
    peer_cfg["block"]["feed_forward_moe"].pop("shared_mlp")
    peer_cfg["block"]["feed_forward_moe"]["router"]["bias_gamma"] = 0.001
    with pytest.raises(ValueError, match="router bias"):
        olmo_core_converter_for_peer(peer_cfg)


def test_training_checkpoint_to_olmo_core_and_back(tiny_moe_run: Path, tmp_path: Path) -> None:
    """Our MoE training checkpoint (weights and AdamW moments) -> ``olmo-core convert to-olmo-core``
    -> OLMo-core's ``load_model_and_optim_state`` holds exactly our tensors in its layout; ->
    ``from-olmo-core`` -> our checkpoint again, identical."""
    from olmo_core.checkpoint.model_io import load_model_checkpoint, model_state_for_save
    from olmo_core.cli import main
    from olmo_core.convert.dcp_files import read_dcp
    from olmo_core.convert.olmo_core_io import per_param_optim

    ckpt = tiny_moe_run / "checkpoints" / "step8"
    out = tmp_path / "olmo_core"
    assert main(["convert", "to-olmo-core", str(ckpt), str(out)]) == 0
    optim = {"lr": 1e-3, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "no_decay": ["embeddings.weight"]}
    (tmp_path / "optim.json").write_text(json.dumps(optim))
    peers.run_olmo_core(SCRIPT, "load", "--config", str(out / "config.json"), "--dcp", str(out / "model_and_optim"),
                        "--optim", str(tmp_path / "optim.json"), "--out", str(tmp_path / "loaded.safetensors"),
                        "--flat", timeout=900)
    loaded = load_file(tmp_path / "loaded.safetensors")
    model = load_model_checkpoint(ckpt)
    conv = olmo_core_converter_for_config(model.config)
    assert conv.name == "olmoe"
    ours = per_param_optim(read_dcp(ckpt / "train" / "optim")["optim"], source=str(ckpt))
    want = dict(conv.to_peer_state(model.config, model_state_for_save(model)))
    for key in ("exp_avg", "exp_avg_sq"):
        moments = conv.to_peer_state(model.config, {n: st[key] for n, st in ours.state.items()})
        want.update({f"optim/{n}/{key}": v for n, v in moments.items()})
    assert any("experts.mlp.w1" in k and k.endswith("exp_avg_sq") for k in want)
    for k, v in want.items():
        assert torch.equal(loaded[k], v), k
    assert {float(v) for k, v in loaded.items() if k.endswith("/step")} == {float(ours.step)} and ours.step > 0

    back = tmp_path / "back"
    assert main(["convert", "from-olmo-core", str(out), str(back)]) == 0
    again = load_model_checkpoint(back)
    for k, v in model_state_for_save(model).items():
        assert torch.equal(model_state_for_save(again)[k], v), k
    restored = per_param_optim(read_dcp(back / "train" / "optim")["optim"], source=str(back))
    assert restored.step == ours.step and set(restored.state) == set(ours.state)
    for n, st in ours.state.items():
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(restored.state[n][key], st[key]), (n, key)
