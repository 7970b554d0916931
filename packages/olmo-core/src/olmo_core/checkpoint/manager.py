"""Where checkpoints live, atomic finishing, finding the latest valid one, keeping the last k."""

from __future__ import annotations

import contextlib
import errno
import json
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from olmo_core.checkpoint.manifest import write_manifest
from olmo_core.checkpoint.train_state import (
    load_model_weights,
    load_train_state,
    save_model_weights,
    save_train_state,
)
from olmo_core.distributed.utils import barrier, broadcast_object, get_rank
from olmo_core.faults import fault_point
from olmo_core.fileio import commit, write_json_atomic
from olmo_core.interfaces import InterfaceError, validate_checkpoint

STEP_DIR = re.compile(r"^step(\d+)$")
SHARD_SITE = "checkpoint.shard"
PARTIAL_DIR = re.compile(r"^\.step(\d+)\.partial$")
#: below this many free bytes a failed write is reported as a full disk, whatever the writer said
_NEARLY_FULL = 1 << 20


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (a full disk, a lost mount); the message names the folder, why,
    and the last complete checkpoint, which the failed write left untouched."""


def _write_errors() -> tuple[type[BaseException], ...]:
    from torch.distributed.checkpoint.api import CheckpointException  # a BaseException, not an Exception

    return (Exception, CheckpointException)


def _why_not_written(error: BaseException, folder: Path) -> str:
    """One line: the cause, as a full disk when it was one (safetensors, torch.save and DCP each word it
    differently, torch.save not at all), else the error's first line."""
    text = str(error)
    free = None
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(folder).free
    chain: list[BaseException] = []
    e: BaseException | None = error
    while e is not None and len(chain) < 8:
        chain.append(e)
        e = e.__cause__ or e.__context__
    full = (any(getattr(x, "errno", None) in (errno.ENOSPC, errno.EDQUOT) for x in chain)
            or "No space left on device" in text or "os error 28" in text
            or (free is not None and free < _NEARLY_FULL))
    if full:
        return f"no space left on device ({free:,} bytes free)" if free is not None else "no space left on device"
    return (text.strip().splitlines() or [type(error).__name__])[0][:300]


@dataclass
class CheckpointConfig:
    """``every``: save every n steps (and at the end); ``keep_last``: how many recent ones to keep;
    ``permanent_every``: steps that are multiples of it are never pruned. ``sharded``: DCP shards
    (``null``: sharded when running on more than one rank) or one ``model.safetensors``."""

    every: int = 100
    keep_last: int = 2
    permanent_every: int | None = None
    sharded: bool | None = None
    save_at_end: bool = True


def checkpoint_root(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    root = checkpoint_root(run_dir)
    if not root.is_dir():
        return []
    out = [(int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and p.is_dir()]
    return sorted(out)


def latest_checkpoint(run_dir: Path, *, verify_hashes: bool = True) -> Path | None:
    """The newest checkpoint that validates against its manifest; broken ones are reported and skipped."""
    for _step, path in reversed(list_checkpoints(run_dir)):
        try:
            validate_checkpoint(path, verify_hashes=verify_hashes)
            return path
        except InterfaceError as e:
            warnings.warn(f"skipping checkpoint {path}: {e}", stacklevel=2)
    return None


class CheckpointManager:
    def __init__(self, run_dir: Path, cfg: CheckpointConfig, *, world_size: int = 1) -> None:
        self.run_dir, self.cfg = Path(run_dir), cfg
        self.sharded = cfg.sharded if cfg.sharded is not None else world_size > 1

    def save(self, step: int, *, model: nn.Module, optimizer: torch.optim.Optimizer,
             trainer_state: dict[str, Any], config: dict[str, Any]) -> Path:
        """Write into ``.step<N>.partial``, write the manifest last, then rename into ``step<N>``.

        A write that fails (a full disk) removes its ``.partial`` folder and raises
        :class:`CheckpointWriteError`; the checkpoints already there stay as they were (pruning comes
        only after the new one is complete)."""
        root = checkpoint_root(self.run_dir)
        final = root / f"step{step}"
        tmp = root / f".step{step}.partial"
        try:
            if get_rank() == 0:
                if tmp.exists():
                    shutil.rmtree(tmp)
                tmp.mkdir(parents=True)
            barrier()
            # A chaos test can kill between the parts (SHARD_SITE): weights, then train state (optimizer,
            # RNG, trainer), then config; the manifest, written last, is what makes the folder a checkpoint.
            save_model_weights(model, tmp, sharded=self.sharded)
            fault_point(SHARD_SITE)
            save_train_state(tmp, model=model, optimizer=optimizer, trainer_state=trainer_state)
            fault_point(SHARD_SITE)
            barrier()
            if get_rank() == 0:
                write_json_atomic(tmp / "config.json", config, sort_keys=True)
                fault_point(SHARD_SITE)
                write_manifest(tmp, step, self.sharded)
                fault_point("checkpoint.before_commit")  # complete, manifest and all, but not yet step<N>
                commit(tmp, final)
        except _write_errors() as e:
            why = _why_not_written(e, root)
            if get_rank() == 0:
                shutil.rmtree(tmp, ignore_errors=True)
            done = [p for s, p in list_checkpoints(self.run_dir) if s != step]
            last = f"the last complete checkpoint is {done[-1]}" if done else "no complete checkpoint yet"
            raise CheckpointWriteError(f"checkpoint {final} not written: {why}; {last}") from e
        if get_rank() == 0:
            self.prune()
        barrier()
        return final

    def discard_partials(self) -> list[Path]:
        """Remove the ``.step<N>.partial`` folders of writes a kill interrupted (at the start of a run,
        when no write of this run is under way); they were never checkpoints."""
        root = checkpoint_root(self.run_dir)
        if not root.is_dir():
            return []
        doomed = [p for p in root.iterdir() if PARTIAL_DIR.match(p.name)]
        for p in doomed:
            shutil.rmtree(p, ignore_errors=True)
        return doomed

    def prune(self) -> list[Path]:
        ckpts = list_checkpoints(self.run_dir)
        pe = self.cfg.permanent_every
        recent = {s for s, _p in ckpts[-self.cfg.keep_last:]} if self.cfg.keep_last > 0 else set()
        doomed = [(s, p) for s, p in ckpts if s not in recent and not (pe and s % pe == 0)]
        for _s, p in doomed:
            shutil.rmtree(p, ignore_errors=True)
        return [p for _s, p in doomed]

    @staticmethod
    def load(path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
        """Validate (on rank 0, shared with all), then load weights and, given an optimizer, train state."""
        error = None
        if get_rank() == 0:
            try:
                validate_checkpoint(path)
            except InterfaceError as e:
                error = str(e)
        error = broadcast_object(error)
        if error:
            raise InterfaceError(error)
        load_model_weights(model, path)
        if optimizer is None:
            return {}
        return load_train_state(path, model=model, optimizer=optimizer)


def read_config(path: Path) -> dict[str, Any]:
    return json.loads((Path(path) / "config.json").read_text())
