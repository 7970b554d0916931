"""Parity with the original OLMo-core 3.0 (PyPI ``ai2-olmo-core``), run as a peer in its own
environment (``tools/peers.py``) through ``olmo_core_peer_script.py`` and files, on real tokens of the
shared corpus:

* the same weights give the same fp32 logits (within 1e-5): OLMo-core's own ``olmo2_30M`` with its own
  init, converted to ours; our OLMo-1 (tied head, non-affine LayerNorm) and OLMo-2 (GQA) models
  converted to OLMo-core, config included;
* from the same initial weights and batches, 50 AdamW steps in our trainer and in OLMo-core's pieces
  (its loss, AdamWConfig with a no-decay group, CosWithWarmup, torch's clip_grad_norm_) give per-step
  losses and final weights within 1e-4;
* OLMo-core's distributed checkpoint of step 25 (model and optimizer), converted by
  ``olmo-core convert from-olmo-core`` and resumed in our trainer, continues OLMo-core's loss curve;
  converted back by ``olmo-core convert to-olmo-core``, OLMo-core loads it into exactly its own state.

The peer must be installed under CI (``CI=true``): there a missing peer fails these tests; elsewhere it
is installed on first use, and skipped only where that is impossible (no package registry)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from olmo_core.cli import main
from olmo_core.convert import olmo_core_converter_for_config, olmo_core_converter_for_peer
from olmo_core.model import get_model_preset
from olmo_core.model.config import ModelConfig

REPO = Path(__file__).resolve().parents[4]
SCRIPT = Path(__file__).with_name("olmo_core_peer_script.py")
sys.path.insert(0, str(REPO / "tools"))
import peers  # noqa: E402
from conftest import TOKENIZER, read_corpus_docs  # noqa: E402

STEPS, BATCH, SEQ, SAVE_AT = 50, 4, 32, 25
#: the training settings both sides use (OLMo-core: AdamWConfig + a no-decay group override,
#: CosWithWarmup(warmup=5, alpha_f=0.1) at the 0-based step over t_max=50, clip_grad_norm_(1.0))
OPTIM = {"lr": 3e-3, "betas": [0.9, 0.95], "eps": 1e-5, "weight_decay": 0.1, "max_grad_norm": 1.0,
         "warmup": 5, "alpha_f": 0.1, "t_max": STEPS, "no_decay": ["embeddings.weight", "*norm.weight"]}


@pytest.fixture(scope="module")
def peer() -> Any:
    try:
        return peers.olmo_core_peer().ensure()
    except Exception as e:  # noqa: BLE001 - any install failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"the OLMo-core peer is missing under CI: {e}")
        pytest.skip(f"the OLMo-core peer cannot be installed here: {e}")


def run_peer(*args: str) -> None:
    peers.run_olmo_core(SCRIPT, *[str(a) for a in args], timeout=900)


@pytest.fixture(scope="module")
def corpus_ids() -> np.ndarray:
    """Real tokens: documents of three corpus sources, EOS-separated, as one stream."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    stream: list[int] = []
    for source in ("books", "code", "python_docs"):
        for d in read_corpus_docs(source, 8):
            stream += tok.encode(d["text"], add_special_tokens=False).ids[:600] + [50279]
    return np.array(stream, dtype=np.int64)


def rows(ids: np.ndarray, n: int, length: int, offset: int = 0) -> np.ndarray:
    assert offset + n * length <= len(ids), "not enough corpus tokens"
    return ids[offset:offset + n * length].reshape(n, length)


def peer_file(cfg: ModelConfig, state: dict[str, torch.Tensor], path: Path) -> None:
    """OLMo-core's state of ``state`` as a safetensors file (a tied head once, as the embedding)."""
    peer_state = olmo_core_converter_for_config(cfg).to_peer_state(cfg, state)
    save_file({k: v.contiguous() for k, v in peer_state.items()
               if not (cfg.weight_tying and k == "lm_head.w_out.weight")}, str(path))


def randomize_norms(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Norm weights away from 1, so a swapped or dropped norm would change the logits."""
    g = torch.Generator().manual_seed(1)
    return {k: (1 + 0.3 * torch.randn(v.shape, generator=g)) if "norm" in k else v for k, v in state.items()}


def our_model(cfg: ModelConfig, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    from olmo_core.checkpoint.model_io import load_model_state

    model = cfg.build(init_device="meta")
    model.to_empty(device="cpu")
    load_model_state(model, state)
    return model.eval()


def our_logits(model: torch.nn.Module, tokens: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(tokens)).float().numpy()


# -- logits ----------------------------------------------------------------------------------------


def test_same_weights_same_logits(peer: Any, corpus_ids: np.ndarray, tmp_path: Path) -> None:
    tokens = rows(corpus_ids, 2, 128)
    np.save(tmp_path / "tokens.npy", tokens)
    # OLMo-core's own olmo2_30M with its own init -> ours
    run_peer("init", "--preset", "olmo2_30M", "--vocab-size", "50304", "--config-out", tmp_path / "c30m.json",
             "--out", tmp_path / "w30m.safetensors")
    peer_cfg = json.loads((tmp_path / "c30m.json").read_text())
    conv = olmo_core_converter_for_peer(peer_cfg)
    cfg30 = conv.from_peer_config(peer_cfg)
    assert (cfg30.d_model, cfg30.n_layers, cfg30.reordered_norm, cfg30.qk_norm, cfg30.norm) == \
        (256, 4, True, True, "rmsnorm")
    models = {"olmo2_30M": our_model(cfg30, conv.from_peer_state(cfg30, load_file(tmp_path / "w30m.safetensors")))}
    jobs = [{"config": str(tmp_path / "c30m.json"), "weights": str(tmp_path / "w30m.safetensors"),
             "tokens": str(tmp_path / "tokens.npy"), "out": str(tmp_path / "olmo2_30M.npy")}]
    # ours -> OLMo-core, config and weights: OLMo-1 (tied head, non-affine LayerNorm, pre-norm) and
    # OLMo-2 with grouped-query attention
    for name, cfg in (("tiny", get_model_preset("tiny")),
                      ("tiny_olmo2_gqa", get_model_preset("tiny_olmo2").replace(n_kv_heads=2))):
        model = cfg.build()
        model.init_weights(seed=3)
        state = randomize_norms({k: v for k, v in model.state_dict().items()})
        model = our_model(cfg, state)
        models[name] = model
        conv = olmo_core_converter_for_config(cfg)
        (tmp_path / f"{name}.json").write_text(json.dumps(conv.peer_config(cfg)))
        peer_file(cfg, state, tmp_path / f"{name}.safetensors")
        jobs.append({"config": str(tmp_path / f"{name}.json"), "weights": str(tmp_path / f"{name}.safetensors"),
                     "tokens": str(tmp_path / "tokens.npy"), "out": str(tmp_path / f"{name}.npy")})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    run_peer("logits", "--jobs", tmp_path / "jobs.json")
    for name, model in models.items():
        theirs = np.load(tmp_path / f"{name}.npy")
        ours = our_logits(model, tokens)
        assert ours.shape == theirs.shape == (2, 128, model.config.embedding_size)
        assert theirs.std() > 0.05, f"{name}: degenerate logits"
        diff = float(np.abs(ours - theirs).max())
        print(f"{name}: max |logit difference| {diff:.2e}")
        assert diff <= 1e-5, f"{name}: logits differ by {diff}"


def test_unsupported_peer_configs_are_refused_by_name() -> None:
    conv = olmo_core_converter_for_config(get_model_preset("tiny_olmo2"))
    peer = conv.peer_config(get_model_preset("tiny_olmo2"))
    peer["block"]["sequence_mixer"]["sliding_window"] = {"pattern": [4096]}
    with pytest.raises(ValueError, match="sliding-window"):
        olmo_core_converter_for_peer(peer)
    peer = conv.peer_config(get_model_preset("tiny_olmo2"))
    peer["block"]["feed_forward"]["activation"] = "gelu"
    with pytest.raises(ValueError, match="SwiGLU"):
        olmo_core_converter_for_peer(peer)


# -- training ----------------------------------------------------------------------------------------


def tiny_cfg() -> ModelConfig:
    return get_model_preset("tiny_olmo2").replace(d_model=64, n_heads=4, mlp_hidden_size=192, n_layers=2)


class Replay:
    """A loader replaying fixed batches from the trainer's step; a converted OLMo-core checkpoint
    carries no data position of ours (``None``), which it accepts."""

    def __init__(self, batches: np.ndarray) -> None:
        self.batches, self.start = batches, 0

    def __iter__(self) -> Any:
        for step in range(self.start, len(self.batches)):
            ids = torch.from_numpy(self.batches[step])
            yield [{"input_ids": ids[:, :-1].contiguous(), "labels": ids[:, 1:].contiguous()}]

    def state_dict(self) -> dict[str, Any]:
        return {"start": self.start}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        assert state is None


def our_trainer(tmp_path: Path, batches: np.ndarray, state: dict[str, torch.Tensor]) -> Any:
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.optim.scheduler import SchedulerConfig
    from olmo_core.train.loss import LossConfig
    from olmo_core.train.spikes import SpikeConfig
    from olmo_core.train.trainer import TrainerConfig

    model = our_model(tiny_cfg(), state).train()
    optim_cfg = OptimConfig(lr=OPTIM["lr"], betas=tuple(OPTIM["betas"]), eps=OPTIM["eps"],
                            weight_decay=OPTIM["weight_decay"], fused=False, max_grad_norm=OPTIM["max_grad_norm"],
                            scheduler=SchedulerConfig(name="cosine_with_warmup", warmup_steps=OPTIM["warmup"],
                                                      warmup_start_factor=0.0, alpha_f=OPTIM["alpha_f"]))
    loader = Replay(batches)
    trainer = TrainerConfig(run_dir=str(tmp_path), max_steps=STEPS, digest_batches=False, callbacks={},
                            spike=SpikeConfig(action="log")).build(
        model=model, optimizer=optim_cfg.build(model), loss_fn=LossConfig().build(), loader=loader,
        optim_cfg=optim_cfg)
    return trainer, loader


def train(trainer: Any, loader: Replay) -> list[float]:
    losses = []
    loader.start = trainer.step
    for micro_batches in loader:
        losses.append(trainer.train_step(micro_batches)["train/loss"])
        trainer.step += 1
    return losses


@pytest.fixture(scope="module")
def peer_run(peer: Any, corpus_ids: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """OLMo-core trains 50 steps from our initial weights, saving its checkpoint after step 25."""
    d = tmp_path_factory.mktemp("peer_run")
    cfg = tiny_cfg()
    model = cfg.build()
    model.init_weights(seed=7)
    init = randomize_norms(dict(model.state_dict()))
    conv = olmo_core_converter_for_config(cfg)
    batches = rows(corpus_ids, STEPS * BATCH, SEQ + 1).reshape(STEPS, BATCH, SEQ + 1)
    np.save(d / "batches.npy", batches)
    (d / "config.json").write_text(json.dumps({"model": conv.peer_config(cfg)}))
    (d / "optim.json").write_text(json.dumps(OPTIM))
    peer_file(cfg, init, d / "init.safetensors")
    run_peer("train", "--config", d / "config.json", "--weights", d / "init.safetensors", "--batches",
             d / "batches.npy", "--optim", d / "optim.json", "--out", d / "out", "--save-at", str(SAVE_AT))
    result = json.loads((d / "out" / "losses.json").read_text())
    final = conv.from_peer_state(cfg, load_file(d / "out" / "final.safetensors"))
    return {"dir": d, "init": init, "batches": batches, "losses": result["losses"], "final": final}


def max_weight_diff(model: torch.nn.Module, theirs: dict[str, torch.Tensor]) -> float:
    ours = {k: v for k, v in model.state_dict().items() if k in theirs}
    assert set(ours) == set(theirs)
    return max(float((ours[k] - theirs[k]).abs().max()) for k in ours)


def test_fifty_adamw_steps_match(peer_run: dict[str, Any], tmp_path: Path) -> None:
    trainer, loader = our_trainer(tmp_path, peer_run["batches"], peer_run["init"])
    ours = train(trainer, loader)
    theirs = peer_run["losses"]
    assert len(ours) == len(theirs) == STEPS
    assert theirs[-1] < theirs[1] - 0.5, "the peer's loss did not fall: the comparison would prove little"
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    assert worst <= 1e-4, f"per-step losses differ by up to {worst}"
    diff = max_weight_diff(trainer.model, peer_run["final"])
    assert diff <= 1e-4, f"final weights differ by {diff}"


def test_olmo_core_checkpoint_resumes_in_our_trainer(peer_run: dict[str, Any], tmp_path: Path) -> None:
    dcp_dir = peer_run["dir"] / "out" / "dcp"
    ours_ckpt = tmp_path / "converted"
    assert main(["convert", "from-olmo-core", str(dcp_dir), str(ours_ckpt), "--config",
                 str(peer_run["dir"] / "config.json")]) == 0
    trainer, loader = our_trainer(tmp_path / "run", peer_run["batches"], peer_run["init"])
    trainer.load_checkpoint(ours_ckpt)
    assert trainer.step == SAVE_AT
    resumed = train(trainer, loader)
    theirs = peer_run["losses"][SAVE_AT:]
    assert len(resumed) == len(theirs) == STEPS - SAVE_AT
    worst = max(abs(a - b) for a, b in zip(resumed, theirs))
    assert worst <= 1e-4, f"the resumed loss curve differs from OLMo-core's by up to {worst}"
    diff = max_weight_diff(trainer.model, peer_run["final"])
    assert diff <= 1e-4, f"final weights differ by {diff}"

    # its trainer's layout (step folder, flattened optimizer state, config.json in the save folder)
    # converts to the same checkpoint
    from olmo_core.checkpoint.model_io import load_model_checkpoint
    from olmo_core.convert.dcp_files import read_dcp

    from_step = tmp_path / "from_step_folder"
    assert main(["convert", "from-olmo-core", str(peer_run["dir"] / "out" / "run" / f"step{SAVE_AT}"),
                 str(from_step)]) == 0
    a, b = load_model_checkpoint(from_step).state_dict(), load_model_checkpoint(ours_ckpt).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in b)
    oa, ob = read_dcp(from_step / "train" / "optim"), read_dcp(ours_ckpt / "train" / "optim")
    assert oa["optim"]["state"].keys() == ob["optim"]["state"].keys()
    for name, st in ob["optim"]["state"].items():
        assert all(torch.equal(oa["optim"]["state"][name][k], v) for k, v in st.items()), name

    # and back: OLMo-core loads our conversion into exactly the state it saved
    back = tmp_path / "back"
    assert main(["convert", "to-olmo-core", str(ours_ckpt), str(back)]) == 0
    d = peer_run["dir"]
    run_peer("load", "--config", back / "config.json", "--dcp", back / "model_and_optim", "--optim",
             d / "optim.json", "--out", tmp_path / "back.safetensors", "--flat")
    run_peer("load", "--config", d / "config.json", "--dcp", dcp_dir, "--optim", d / "optim.json",
             "--out", tmp_path / "orig.safetensors")
    got, want = load_file(tmp_path / "back.safetensors"), load_file(tmp_path / "orig.safetensors")
    assert set(got) == set(want) and any(k.endswith("/exp_avg_sq") for k in want)
    for k in want:
        assert torch.equal(got[k], want[k]), k
