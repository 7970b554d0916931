"""The contracts olmo-core owns: FeedForward, trainer callbacks and the checkpoint layout.

olmoe implements :class:`FeedForward`; olmo-eval and olmoe implement :class:`Callback`; olmo-eval,
olmoe and open-instruct read checkpoints through :func:`validate_checkpoint`. The written contract is
``docs/interfaces.md``; the versions below change when a contract changes incompatibly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

FEED_FORWARD_INTERFACE_VERSION = 1
CALLBACK_INTERFACE_VERSION = 1
CHECKPOINT_FORMAT_VERSION = 1
CHECKPOINT_FORMAT_NAME = "olmo-core/checkpoint"
TOKENS_FORMAT_NAME = "olmo-stack/tokens"
#: 2 added the sidecar field ``array_format`` (``memmap``: headerless, ``npy``); version 1 is always ``npy``.
TOKENS_FORMAT_VERSION = 2
TOKENS_FORMAT_VERSIONS = (1, 2)


class InterfaceError(ValueError):
    """A contract was not met; the message names the file or field."""


# --------------------------------------------------------------------------------------------
# FeedForward
# --------------------------------------------------------------------------------------------


@runtime_checkable
class FeedForward(Protocol):
    """``x [B, T, D] -> y [B, T, D]``: the MLP slot of a transformer block.

    A class meeting this protocol is built from config by its registered name (a plug-in registers it
    from an installed entry point) with keyword arguments ``d_model`` plus its own options, so
    olmo-core never imports it by a name read from a config.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class HasAuxiliaryLosses(Protocol):
    """Optional part of :class:`FeedForward`.

    ``pop_auxiliary_losses`` returns the auxiliary losses of the forward passes since the last call,
    already multiplied by their weights, and forgets them: the model sums them into the training loss.
    ``pop_metrics`` returns detached scalars/tensors for logging (e.g. tokens per expert)."""

    def pop_auxiliary_losses(self) -> dict[str, torch.Tensor]: ...

    def pop_metrics(self) -> dict[str, torch.Tensor]: ...


def check_feed_forward(module: Any, d_model: int) -> None:
    """Run a tiny forward and check the shape contract; raise :class:`InterfaceError` otherwise."""
    if not isinstance(module, FeedForward):
        raise InterfaceError(f"{type(module).__name__} is not callable as a FeedForward")
    x = torch.zeros(1, 2, d_model)
    try:
        param = next(iter(module.parameters()))  # type: ignore[attr-defined]
        x = x.to(dtype=param.dtype, device=param.device)
    except (AttributeError, StopIteration):
        pass
    y = module(x)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != tuple(x.shape):
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise InterfaceError(f"{type(module).__name__}: FeedForward must map [B, T, {d_model}] to the "
                             f"same shape, got {got}")
    if isinstance(module, HasAuxiliaryLosses):
        module.pop_auxiliary_losses()
        module.pop_metrics()


# --------------------------------------------------------------------------------------------
# Trainer callbacks
# --------------------------------------------------------------------------------------------


class TrainerState(Protocol):
    """What a callback may read from the trainer. ``model`` is the (possibly wrapped) module being
    trained; ``log`` records extra metrics for the current step (they reach every logger)."""

    step: int
    tokens_seen: int
    model: torch.nn.Module
    is_main_process: bool
    run_dir: Path

    def log(self, metrics: Mapping[str, float]) -> None: ...


@runtime_checkable
class Callback(Protocol):
    """Trainer hooks, all called on every rank. ``on_step_end`` receives the step's metrics.

    ``state_dict``/``load_state_dict`` let a callback resume exactly (they are saved in checkpoints).
    :class:`olmo_core.train.callbacks.base.TrainerCallback` implements every hook as a no-op."""

    def on_train_start(self, state: TrainerState) -> None: ...

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None: ...

    def on_checkpoint(self, state: TrainerState, path: Path) -> None: ...

    def on_train_end(self, state: TrainerState) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


@dataclass
class CheckpointManifest:
    """``manifest.json``, written last (atomically) in a checkpoint folder.

    Layout of ``<run>/checkpoints/step<N>/``: ``config.json`` (``{"model": ..., ...}``, the resolved
    run config), ``model.safetensors`` (unsharded weights) or ``model/`` (torch.distributed.checkpoint
    shards), ``train/`` (optimizer, scheduler, data position, RNG states), and ``manifest.json``
    listing every file with its size and SHA-256. A folder without a valid manifest is unfinished."""

    step: int
    files: dict[str, dict[str, Any]]
    sharded: bool
    format: str = CHECKPOINT_FORMAT_NAME
    version: int = CHECKPOINT_FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "version": self.version, "step": self.step, "sharded": self.sharded,
                "files": self.files}


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def validate_checkpoint(path: str | Path, *, verify_hashes: bool = True) -> CheckpointManifest:
    """Check a checkpoint folder against its manifest; raise :class:`InterfaceError` naming what is
    missing, truncated or corrupt."""
    path = Path(path)
    mpath = path / "manifest.json"
    if not mpath.is_file():
        raise InterfaceError(f"{path}: no manifest.json, so the checkpoint is unfinished or not one")
    try:
        raw = json.loads(mpath.read_bytes().decode("utf-8"))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise InterfaceError(f"{mpath}: not JSON ({e})") from e
    if not isinstance(raw, dict):
        raise InterfaceError(f"{mpath}: holds a {type(raw).__name__}, not a JSON object")
    if raw.get("format") != CHECKPOINT_FORMAT_NAME:
        raise InterfaceError(f"{mpath}: field 'format' is {raw.get('format')!r}, not {CHECKPOINT_FORMAT_NAME!r}")
    if raw.get("version") != CHECKPOINT_FORMAT_VERSION:
        raise InterfaceError(f"{mpath}: field 'version' is {raw.get('version')!r}, this reader knows "
                             f"{CHECKPOINT_FORMAT_VERSION}")
    for key, kind in (("step", int), ("files", dict), ("sharded", bool)):
        if not isinstance(raw.get(key), kind) or (kind is int and isinstance(raw[key], bool)):
            raise InterfaceError(f"{mpath}: field {key!r} is {raw.get(key)!r}, not a JSON {kind.__name__}")
    manifest = CheckpointManifest(step=raw["step"], files=dict(raw["files"]), sharded=raw["sharded"])
    if "config.json" not in manifest.files:
        raise InterfaceError(f"{mpath}: lists no config.json")
    for rel, info in manifest.files.items():
        if (not isinstance(info, dict) or not isinstance(info.get("bytes"), int)
                or not isinstance(info.get("sha256"), str)):
            raise InterfaceError(f"{mpath}: field 'files.{rel}' is {info!r}, not {{bytes, sha256}}")
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise InterfaceError(f"{mpath}: field 'files' lists {rel!r}, outside the checkpoint")
        fpath = path / rel
        if not fpath.is_file():
            raise InterfaceError(f"{fpath}: listed in field 'files' of {mpath.name} but missing")
        size = fpath.stat().st_size
        if size != info["bytes"]:
            raise InterfaceError(f"{fpath}: {size} bytes, field 'files.{rel}.bytes' of {mpath.name} says "
                                 f"{info['bytes']} (one of them is truncated or corrupt)")
        if verify_hashes and file_sha256(fpath) != info["sha256"]:
            raise InterfaceError(f"{fpath}: SHA-256 does not match field 'files.{rel}.sha256' of {mpath.name} "
                                 "(one of them is corrupt)")
    return manifest
