"""Whole checkpoints between olmo-core and the original OLMo-core 3.0 (``ai2-olmo-core``).

OLMo-core writes a training checkpoint as ``stepN/`` holding ``model_and_optim/`` (a
torch.distributed.checkpoint (DCP) directory of ``{"model": ..., "optim": ...}``, the optimizer
state keyed by parameter names, flattened by its trainer: ``state.<param>.<key>`` and
``param_groups.<param>.<hyperparameter>``), ``train/rank<R>.pt`` (its trainer state) and
``.metadata.json``; its checkpoint API (``save_model_and_optim_state``) writes the DCP directory
alone, the optimizer state nested (``{"state": {param: ...}, "param_groups": [...]}``). Its model
config is not in the checkpoint but in the run's ``config.json`` (the save folder's, one level up).

:func:`from_olmo_core` reads either form (one process, no process group) and writes one of our
training checkpoints (``model.safetensors``, ``train/optim`` DCP, ``train/trainer.pt`` with the
step): our trainer resumes it with ``trainer.resume=<folder>``. :func:`to_olmo_core` writes
``model_and_optim/`` (flattened optimizer state, as OLMo-core's trainer writes it) plus a
``config.json`` holding the TransformerConfig, which OLMo-core loads with
``load_model_and_optim_state`` or as a trainer ``load_path``.

Optimizer moments are converted by the same layout converter as the weights (a reshaped MoE expert
reshapes its moments the same way); a parameter's ``step`` is the same for all of AdamW's
parameters and is carried over as one number."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from olmo_core.convert.dcp_files import read_dcp, write_dcp
from olmo_core.convert.olmo_core_layout import peer_model_config
from olmo_core.convert.registry import (
    OlmoCoreConverter,
    State,
    olmo_core_converter_for_config,
    olmo_core_converter_for_peer,
)
from olmo_core.fileio import atomic_path, write_json_atomic
from olmo_core.model.config import ModelConfig

MODEL_AND_OPTIM = "model_and_optim"
#: AdamW's per-parameter state; anything else (another optimizer's) is refused by name
ADAMW_STATE = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


@dataclass
class PerParamOptim:
    """Optimizer state per parameter name: its AdamW moments and its param group's hyperparameters."""

    state: dict[str, dict[str, torch.Tensor]]
    groups: dict[str, dict[str, Any]]

    @property
    def step(self) -> int:
        steps = {int(torch.as_tensor(s["step"]).item()) for s in self.state.values() if "step" in s}
        if len(steps) > 1:
            raise ValueError(f"optimizer state: parameters at different steps {sorted(steps)[:5]}")
        return steps.pop() if steps else 0


@dataclass
class OlmoCoreCheckpoint:
    config: dict[str, Any]  # OLMo-core's TransformerConfig (its JSON form)
    model: State
    optim: PerParamOptim | None
    step: int | None


# -- DCP directories -----------------------------------------------------------------------------------


def dcp_dir_of(path: Path) -> Path:
    """The DCP directory of an OLMo-core checkpoint: ``path/model_and_optim`` or ``path`` itself."""
    for cand in (path / MODEL_AND_OPTIM, path):
        if (cand / ".metadata").is_file():
            return cand
    raise ValueError(f"{path}: not an OLMo-core checkpoint (no {MODEL_AND_OPTIM}/.metadata nor .metadata)")


def per_param_optim(optim: dict[str, Any], *, source: str) -> PerParamOptim:
    """Either torch layout of ``get_optimizer_state_dict`` (nested, or flattened as OLMo-core's trainer
    saves it) -> per parameter."""
    state: dict[str, dict[str, torch.Tensor]] = {}
    groups: dict[str, dict[str, Any]] = {}
    if "state" in optim and "param_groups" in optim:  # nested
        for name, st in optim["state"].items():
            state[name] = dict(st)
        for group in optim["param_groups"]:
            hyper = {k: v for k, v in group.items() if k != "params"}
            for name in group["params"]:
                groups[name] = hyper
    else:  # flattened: "state.<param>.<key>", "param_groups.<param>.<hyperparameter>"
        for key, value in optim.items():
            kind, _, rest = key.partition(".")
            name, _, leaf = rest.rpartition(".")
            if kind == "state":
                state.setdefault(name, {})[leaf] = value
            elif kind == "param_groups":
                groups.setdefault(name, {})[leaf] = value
            else:
                raise ValueError(f"{source}: unexpected optimizer key {key!r}")
    for name, st in state.items():
        unknown = sorted(set(st) - set(ADAMW_STATE))
        if unknown:
            raise ValueError(f"{source}: optimizer state of {name} has {unknown}: not AdamW's; only AdamW converts")
    return PerParamOptim(state=state, groups=groups)


def flatten_optim(optim: PerParamOptim) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, st in optim.state.items():
        for key, value in st.items():
            out[f"state.{name}.{key}"] = value
    for name, hyper in optim.groups.items():
        for key, value in hyper.items():
            out[f"param_groups.{name}.{key}"] = value
    return out


def convert_optim(optim: PerParamOptim, convert: Any, names: dict[str, str], *, source: str) -> PerParamOptim:
    """Moments through the weights' converter ``convert(state) -> state`` (renames, reshapes);
    the step and the hyperparameters through the name map ``names`` (source name -> target name)
    where the converter maps names one to one."""
    step = optim.step
    moments: dict[str, State] = {}
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        have = {n: st[key] for n, st in optim.state.items() if key in st}
        if have:
            moments[key] = convert(have)
    targets = next(iter(moments.values())).keys() if moments else []
    state = {t: {"step": torch.tensor(float(step)), **{k: m[t] for k, m in moments.items()}} for t in targets}
    groups: dict[str, dict[str, Any]] = {}
    for src, hyper in optim.groups.items():
        if src in names:
            # every key: a loader takes its optimizer's param-group keys from the checkpoint (extra keys
            # are ignored, a missing one is an error)
            groups[names[src]] = {k: v for k, v in hyper.items() if k != "params"}
    # a tensor made of several (an MoE's experts) takes the hyperparameters of the group that treats
    # its kind alike: matrices the decaying one, vectors the other
    decaying = [g for g in groups.values() if float(g.get("weight_decay", 0.0)) > 0]
    flat = [g for g in groups.values() if float(g.get("weight_decay", 0.0)) == 0]
    for t in targets:
        if t not in groups:
            pick = (decaying or flat) if state[t]["exp_avg"].ndim >= 2 else (flat or decaying)
            groups[t] = dict(pick[0]) if pick else {}
    return PerParamOptim(state=state, groups=groups)


# -- OLMo-core -> ours ---------------------------------------------------------------------------------


def find_config(path: Path, config: str | Path | None) -> dict[str, Any]:
    cands = [Path(config)] if config is not None else [path / "config.json", path.parent / "config.json"]
    for cand in cands:
        if cand.is_file():
            try:
                return peer_model_config(json.loads(cand.read_text()), source=str(cand))
            except json.JSONDecodeError as e:
                raise ValueError(f"{cand}: not JSON ({e})") from e
    raise ValueError(f"{path}: no OLMo-core config.json beside it or in its parent; pass --config")


def read_trainer_step(path: Path) -> int | None:
    """OLMo-core's ``global_step`` from ``train/rank0.pt``, when that file loads with
    ``weights_only=True`` (its RNG states may hold objects that do not; then the optimizer's step is used)."""
    f = path / "train" / "rank0.pt"
    if not f.is_file():
        return None
    try:
        return int(torch.load(f, weights_only=True, map_location="cpu")["global_step"])
    except Exception:  # noqa: BLE001 - an unreadable trainer state only loses the step it records
        return None


def read_olmo_core_checkpoint(path: str | Path, *, config: str | Path | None = None) -> OlmoCoreCheckpoint:
    path = Path(path)
    dcp_dir = dcp_dir_of(path)
    peer_cfg = find_config(path, config)
    everything = read_dcp(dcp_dir)
    if "model" not in everything:
        raise ValueError(f"{dcp_dir}: no 'model' state in the checkpoint (keys {sorted(everything)[:5]})")
    optim = per_param_optim(everything["optim"], source=str(dcp_dir)) if everything.get("optim") else None
    step = read_trainer_step(path)
    if step is None and optim is not None:
        step = optim.step
    return OlmoCoreCheckpoint(config=peer_cfg, model=dict(everything["model"]), optim=optim, step=step)


def from_olmo_core(path: str | Path, out: str | Path, *, config: str | Path | None = None,
                   vocab_size: int | None = None, eos_token_id: int | None = None,
                   pad_token_id: int | None = None) -> Path:
    """An OLMo-core checkpoint (step folder or DCP directory) -> one of our checkpoints: a training
    checkpoint (weights, optimizer state, step) when it has optimizer state, else model-only."""
    from olmo_core.checkpoint.manifest import write_manifest
    from olmo_core.checkpoint.model_io import load_model_state
    from olmo_core.checkpoint.train_state import save_model_weights, save_train_state
    from olmo_core.optim.adamw import OptimConfig, param_groups

    ckpt = read_olmo_core_checkpoint(path, config=config)
    conv = olmo_core_converter_for_peer(ckpt.config)
    ours = {k: v for k, v in (("vocab_size", vocab_size), ("eos_token_id", eos_token_id),
                              ("pad_token_id", pad_token_id)) if v is not None}
    cfg = conv.from_peer_config(ckpt.config, **ours)
    model = cfg.build(init_device="meta")
    model.to_empty(device="cpu")
    load_model_state(model, conv.from_peer_state(cfg, ckpt.model), source=str(path))
    out = Path(out)
    step = int(ckpt.step or 0)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_json_atomic(tmp / "config.json", {"model": cfg.to_dict(),
                                                "converted_from": {"olmo_core": str(path), "step": step}})
        save_model_weights(model, tmp, sharded=False)
        if ckpt.optim is not None:
            inverse = {v: k for k, v in conv.peer_names(cfg).items()}
            optim = convert_optim(ckpt.optim, lambda s: conv.from_peer_state(cfg, s), inverse, source=str(path))
            hyper = _decaying_hyper(optim)
            opt_cfg = OptimConfig(lr=float(hyper.get("initial_lr", hyper.get("lr", 4e-4))),
                                  betas=tuple(float(b) for b in hyper.get("betas", (0.9, 0.95))),  # type: ignore[arg-type]
                                  eps=float(hyper.get("eps", 1e-8)), weight_decay=float(hyper.get("weight_decay", 0.0)),
                                  fused=False)
            _check_groups(optim, param_groups(model, opt_cfg.weight_decay), source=str(path))
            optimizer = opt_cfg.build(model)
            for name, p in model.named_parameters():
                st = optim.state.get(name)
                if st is None:
                    raise ValueError(f"{path}: no optimizer state for {name}")
                optimizer.state[p] = {k: v.to(torch.float32) if k == "step" else v.to(p.dtype).clone()
                                      for k, v in st.items()}
            save_train_state(tmp, model=model, optimizer=optimizer,
                             trainer_state={"step": step, "tokens_seen": 0, "data": None,
                                            "scheduler": {}, "spikes": {}, "callbacks": [], "callback_names": [],
                                            "converted_from_olmo_core": True})
        write_manifest(tmp, step, False)
    return out


def _decaying_hyper(optim: PerParamOptim) -> dict[str, Any]:
    """The hyperparameters of the group that decays (the one most parameters are in when none do)."""
    groups = list(optim.groups.values())
    decaying = [g for g in groups if float(g.get("weight_decay", 0.0)) > 0]
    return (decaying or groups or [{}])[0]


def _check_groups(optim: PerParamOptim, ours: list[dict], *, source: str) -> None:
    """Our AdamW decays matrices only (never embeddings, norms); say so when the source decayed
    another set (the moments still convert; the next steps would decay differently)."""
    differ = []
    for g in ours:
        for name in g["param_names"]:
            theirs = float(optim.groups.get(name, {}).get("weight_decay", g["weight_decay"]))
            if (theirs > 0) != (g["weight_decay"] > 0):
                differ.append(name)
    if differ:
        warnings.warn(f"{source}: weight decay differs from ours (matrices only) on {differ[:4]}"
                      f"{'...' if len(differ) > 4 else ''}", stacklevel=3)


# -- ours -> OLMo-core ---------------------------------------------------------------------------------


def to_olmo_core(checkpoint: str | Path, out: str | Path, *, with_optim: bool = True) -> Path:
    """One of our checkpoints (model-only or training) -> an OLMo-core checkpoint folder:
    ``model_and_optim/`` (DCP) and ``config.json`` (``{"model": TransformerConfig}``)."""
    from olmo_core.checkpoint.model_io import load_model_checkpoint, model_state_for_save

    checkpoint = Path(checkpoint)
    model = load_model_checkpoint(checkpoint)
    cfg: ModelConfig = model.config
    conv: OlmoCoreConverter = olmo_core_converter_for_config(cfg)
    peer_state = conv.to_peer_state(cfg, model_state_for_save(model))
    state: dict[str, Any] = {"model": peer_state}
    step = 0
    optim_dir = checkpoint / "train" / "optim"
    if with_optim and (optim_dir / ".metadata").is_file():
        saved = read_dcp(optim_dir)["optim"]
        optim = convert_optim(per_param_optim(saved, source=str(optim_dir)), lambda s: conv.to_peer_state(cfg, s),
                              conv.peer_names(cfg), source=str(checkpoint))
        # a tied head is one parameter in both optimizers (the embedding); drop its second name
        for key in ("lm_head.w_out.weight",):
            if cfg.weight_tying:
                optim.state.pop(key, None)
                optim.groups.pop(key, None)
        state["optim"] = flatten_optim(optim)
        step = optim.step
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_dcp(tmp / MODEL_AND_OPTIM, state)
        write_json_atomic(tmp / "config.json", {"model": conv.peer_config(cfg)})
        write_json_atomic(tmp / ".metadata.json", {"ephemeral": False, "converted_from": str(checkpoint),
                                                   "step": step})
    return out
