"""Model-only checkpoints, unsharded: ``config.json`` (``{"model": ModelConfig.to_dict(), ...}``),
``model.safetensors`` (olmo-core parameter names) and ``manifest.json`` written last, each file
renamed into place when complete (``docs/interfaces.md``, contract "Checkpoint")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from olmo_core.checkpoint.safetensors_file import read_safetensors
from olmo_core.fileio import atomic_path, write_json_atomic
from olmo_core.interfaces import CheckpointManifest, InterfaceError, file_sha256, validate_checkpoint
from olmo_core.model.config import ModelConfig
from olmo_core.model.transformer import OLMo

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "manifest.json"
# Wrappers applied from outside (activation checkpointing, torch.compile, DDP) rename parameters.
_WRAPPER_PREFIXES = ("_checkpoint_wrapped_module.", "_orig_mod.", "module.")


def _unwrapped_name(name: str) -> str:
    for prefix in _WRAPPER_PREFIXES:
        name = name.replace(prefix, "")
    return name


def model_config_of(model: nn.Module) -> ModelConfig:
    cfg = getattr(model, "config", None)
    if cfg is None:
        cfg = getattr(getattr(model, "module", None), "config", None)
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"{type(model).__name__} has no ModelConfig at .config")
    return cfg


def model_state_for_save(model: nn.Module) -> dict[str, torch.Tensor]:
    """Full (gathered) CPU tensors under olmo-core names; a tied head is stored once (as the
    embedding), which safetensors requires."""
    cfg = model_config_of(model)
    out: dict[str, torch.Tensor] = {}
    for name, value in model.state_dict().items():
        if hasattr(value, "full_tensor"):  # DTensor from FSDP2
            value = value.full_tensor()
        out[_unwrapped_name(name)] = value.detach().to("cpu").contiguous()
    if cfg.weight_tying:
        out.pop("lm_head.weight", None)
    return out


def load_model_state(model: OLMo, state: Mapping[str, torch.Tensor], *, source: str = "state",
                     assign: bool = False) -> None:
    """Load olmo-core-named tensors into ``model``, refusing missing or unexpected names.

    ``assign=True`` adopts the given tensors as the parameters (no copy): the way to fill a model
    built on the meta device without holding two copies of the weights."""
    model.tie_weights()
    state = dict(state)
    if model.config.weight_tying:
        state.pop("lm_head.weight", None)
    result = model.load_state_dict(state, strict=False, assign=assign)
    missing = [k for k in result.missing_keys if not (model.config.weight_tying and k == "lm_head.weight")]
    if missing or result.unexpected_keys:
        raise InterfaceError(f"{source}: weights do not match the model config: missing {missing[:8]}"
                             f"{'...' if len(missing) > 8 else ''}, unexpected {result.unexpected_keys[:8]}")
    model.tie_weights()


def write_manifest(path: Path, *, step: int, sharded: bool) -> CheckpointManifest:
    """List every file under ``path`` (size and SHA-256) and write ``manifest.json`` last, atomically."""
    files: dict[str, dict[str, Any]] = {}
    for p in sorted(path.rglob("*")):
        if p.is_file() and p.name != MANIFEST_FILE and ".tmp-" not in p.name:
            files[p.relative_to(path).as_posix()] = {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
    manifest = CheckpointManifest(step=step, files=files, sharded=sharded)
    write_json_atomic(path / MANIFEST_FILE, manifest.to_json())
    return manifest


def save_model_checkpoint(model: nn.Module, path: str | Path, *, step: int = 0,
                          extra_config: Mapping[str, Any] | None = None) -> Path:
    """Write a model-only checkpoint folder. An existing manifest is removed first, so a crash
    mid-write leaves a folder readers refuse rather than a stale-but-valid one."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MANIFEST_FILE).unlink(missing_ok=True)
    cfg = model_config_of(model)
    config = {**dict(extra_config or {}), "model": cfg.to_dict()}
    write_json_atomic(path / CONFIG_FILE, config)
    with atomic_path(path / WEIGHTS_FILE) as tmp:
        save_file(model_state_for_save(model), str(tmp), metadata={"format": "pt"})
    write_manifest(path, step=step, sharded=False)
    return path


def read_model_config(path: str | Path) -> ModelConfig:
    cpath = Path(path) / CONFIG_FILE
    try:
        config = json.loads(cpath.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InterfaceError(f"{cpath}: missing") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise InterfaceError(f"{cpath}: not JSON ({e})") from e
    if not isinstance(config, dict) or "model" not in config:
        raise InterfaceError(f"{cpath}: no 'model' field holding the model config")
    try:
        return ModelConfig.from_dict(config["model"])
    except (ValueError, TypeError) as e:
        raise InterfaceError(f"{cpath}: {e}") from e


def load_model_checkpoint(path: str | Path, device: str | torch.device = "cpu", *,
                          dtype: torch.dtype | None = None, verify_hashes: bool = True) -> OLMo:
    """Validate the folder against its manifest and build the model from it, without ever
    materializing a randomly initialized copy (built on the meta device, then filled)."""
    path = Path(path)
    manifest = validate_checkpoint(path, verify_hashes=verify_hashes)
    cfg = read_model_config(path)
    try:
        cfg.build(init_device="meta")  # a feed-forward no one registered, a bad size: say which file
    except ValueError as e:
        raise InterfaceError(f"{path / CONFIG_FILE}: {e}") from None
    if manifest.sharded or not (path / WEIGHTS_FILE).is_file():
        if not (path / "model").is_dir():
            raise InterfaceError(f"{path}: neither {WEIGHTS_FILE} nor sharded model/ weights")
        # Sharded (torch.distributed.checkpoint) weights of a training checkpoint, read in one process.
        from olmo_core.checkpoint.train_state import load_sharded_weights

        model = cfg.build(init_device="meta")
        model.to_empty(device=device)
        model.tie_weights()
        load_sharded_weights(model, path / "model")
        if dtype is not None:
            model.to(dtype=dtype)
        return model
    model = cfg.build(init_device="meta")
    try:
        load_model_state(model, read_safetensors(path / WEIGHTS_FILE, device), source=str(path / WEIGHTS_FILE),
                         assign=True)
    except RuntimeError as e:  # a shape the header was changed to
        raise InterfaceError(f"{path / WEIGHTS_FILE}: does not fit the model config ({str(e).splitlines()[0]})") from None
    if dtype is not None:
        model.to(dtype=dtype)
    return model
