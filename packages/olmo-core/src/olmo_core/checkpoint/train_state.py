"""Saving and loading the full training state of one step.

``model/`` (DCP shards, reloadable at another world size) or ``model.safetensors`` (gathered full
weights); ``train/optim/`` (DCP: optimizer state keyed by parameter names, so it reshards too);
``train/rank<R>.pt`` (RNG states); ``train/trainer.pt`` (step, data position, scheduler, callbacks).
Every rank calls these functions; only rank 0 writes the single-copy files."""

from __future__ import annotations

import contextlib
import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from olmo_core.checkpoint.dcp_safe import dcp_load
from olmo_core.checkpoint.rng import rng_state, set_rng_state
from olmo_core.checkpoint.safetensors_file import read_safetensors
from olmo_core.distributed.utils import barrier, get_rank, get_world_size
from olmo_core.interfaces import InterfaceError


@contextlib.contextmanager
def _dcp_quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        # Single-process DCP warns that it runs without a process group; that is what we want.
        warnings.filterwarnings("ignore", message=".*process group.*")
        warnings.filterwarnings("ignore", message=".*torch.distributed is disabled.*")
        yield


def _tied_names(model: nn.Module) -> set[str]:
    """Names of parameters that are another parameter under a second name (a tied output head)."""
    seen: dict[int, str] = {}
    tied = set()
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            tied.add(name)
        else:
            seen[id(p)] = name
    return tied


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """All weights gathered on CPU under olmo-core names (every rank gets them; rank 0 writes them).
    A tied head is stored once, as its embedding, like ``model_io`` does."""
    sd = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    tied = {n.replace("module.", "", 1) for n in _tied_names(model)}
    return {k: v.detach().contiguous() for k, v in sd.items() if k not in tied}


def save_model_weights(model: nn.Module, folder: Path, *, sharded: bool) -> None:
    if sharded:
        with _dcp_quiet():
            dcp.save({"model": get_model_state_dict(model)}, checkpoint_id=str(folder / "model"))
        return
    sd = full_model_state(model)
    if get_rank() == 0:
        from safetensors.torch import save_file

        save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})


def load_model_weights(model: nn.Module, folder: Path) -> None:
    if (folder / "model").is_dir():
        load_sharded_weights(model, folder / "model")
        return
    path = folder / "model.safetensors"
    sd = read_safetensors(path)
    try:
        set_model_state_dict(model, sd, options=StateDictOptions(full_state_dict=True, strict=False))
    except (RuntimeError, ValueError, KeyError) as e:  # a shape or dtype the header was changed to
        raise InterfaceError(f"{path}: does not fit the model ({str(e).splitlines()[0]})") from None


def load_sharded_weights(model: nn.Module, model_dir: Path) -> None:
    """Fill ``model`` (any world size, including one process without a process group) from DCP shards,
    read as data only (:mod:`olmo_core.checkpoint.dcp_safe`)."""
    sd = get_model_state_dict(model)
    with _dcp_quiet():
        dcp_load({"model": sd}, model_dir)
    set_model_state_dict(model, sd)


def save_train_state(folder: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer,
                     trainer_state: dict[str, Any]) -> None:
    train = folder / "train"
    if get_rank() == 0:
        train.mkdir(parents=True, exist_ok=True)
    barrier()
    with _dcp_quiet():
        dcp.save({"optim": get_optimizer_state_dict(model, optimizer)}, checkpoint_id=str(train / "optim"))
    torch.save({"rng": rng_state(), "world_size": get_world_size()}, train / f"rank{get_rank()}.pt")
    if get_rank() == 0:
        torch.save(trainer_state, train / "trainer.pt")


def load_train_state(folder: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore optimizer and this rank's RNG; return the trainer state (step, data, callbacks...)."""
    train = folder / "train"
    osd = get_optimizer_state_dict(model, optimizer)
    with _dcp_quiet():
        dcp_load({"optim": osd}, train / "optim")
    try:
        set_optimizer_state_dict(model, optimizer, osd)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise InterfaceError(f"{train / 'optim'}: optimizer state does not fit the model ({e})") from None
    rank_file = train / f"rank{get_rank()}.pt"
    if rank_file.is_file():
        saved = _load_plain(rank_file)
        if saved.get("world_size") == get_world_size():
            try:
                set_rng_state(saved["rng"])
            except (KeyError, TypeError, ValueError, RuntimeError) as e:
                raise InterfaceError(f"{rank_file}: field 'rng' is not an RNG state ({e})") from None
        else:
            warnings.warn(f"{folder}: saved at world size {saved.get('world_size')}, resumed at {get_world_size()}; "
                          "RNG states not restored (the data order does not depend on them)", stacklevel=2)
    return _load_plain(train / "trainer.pt")


def _load_plain(path: Path) -> Any:
    """A checkpoint file read as data only: ``weights_only=True`` refuses any pickled object that
    would run code, so resuming from an untrusted checkpoint cannot execute it."""
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as e:
        raise InterfaceError(f"{path}: holds objects beyond tensors and plain data, which are not loaded (a "
                             f"checkpoint must never run code); it was written by another program or an older "
                             f"version of olmo-core: {str(e).splitlines()[0]}") from e
    except FileNotFoundError:
        raise InterfaceError(f"{path}: missing") from None
    except Exception as e:  # truncated or flipped: torch's zip reader raises RuntimeError and others
        raise InterfaceError(f"{path}: unreadable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(obj, dict):
        raise InterfaceError(f"{path}: holds a {type(obj).__name__}, not the dict olmo-core writes")
    return obj
