"""The training loop, generic over what a batch is and how its loss is computed.

Plug-in points (see the package README):

* ``loader``: an iterable yielding, per optimizer step, this rank's micro-batches (``list[dict]``),
  with ``state_dict()``/``load_state_dict()`` for exact resume (:class:`BatchLoader`).
* ``loss_fn``: ``loss_fn(model, micro_batch) -> LossOutput`` returning sums, plus
  ``loss_fn.num_targets(micro_batch)`` (:class:`olmo_core.train.loss.LossFn`).
* ``callbacks``: any objects meeting :class:`olmo_core.interfaces.Callback`.

Per step the trainer counts the targets of the whole global batch first (one all-reduce), so every
micro-batch's loss is divided by the same global count and the gradient equals that of the full
batch at once. Auxiliary losses the model reports (``pop_auxiliary_losses``, e.g. MoE load balancing)
are added weighted by each micro-batch's share of the targets."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from olmo_core.checkpoint.manager import CheckpointConfig, CheckpointManager
from olmo_core.data.digest import batch_digest, instance_digest
from olmo_core.distributed.parallelize import (
    ParallelConfig,
    autocast_context,
    gradient_sync,
    sdpa_context,
    unwrap,
)
from olmo_core.distributed.utils import all_gather_object, all_reduce_sum, get_rank, get_world_size
from olmo_core.fileio import write_json_atomic
from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.clipping import clip_grad_norm, max_norm_at
from olmo_core.train.callbacks import build_callback
from olmo_core.train.callbacks.checkpointer import Checkpointer
from olmo_core.train.loss import LossFn, count_targets
from olmo_core.train.spikes import SpikeConfig, SpikeDetector


@runtime_checkable
class BatchLoader(Protocol):
    def __iter__(self) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class TrainerConfig:
    """``run_dir`` holds checkpoints, metrics and plots. ``resume``: ``auto`` (latest valid checkpoint in
    ``run_dir`` if any), ``none`` or a checkpoint path. ``load_path``: weights to start from (model only,
    e.g. for fine-tuning) when not resuming."""

    run_dir: str = "runs/tiny"
    max_steps: int = 50
    seed: int = 0
    resume: str = "auto"
    load_path: str | None = None
    digest_batches: bool = True
    spike: SpikeConfig = field(default_factory=SpikeConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    #: name -> options of registered callbacks (:data:`olmo_core.train.callbacks.CALLBACKS`)
    callbacks: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "console": {}, "metrics_jsonl": {}, "speed": {}, "memory": {}, "gc": {}, "loss_plot": {}})

    def build(self, *, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, loader: BatchLoader,
              optim_cfg: OptimConfig, parallel_cfg: ParallelConfig | None = None,
              device: torch.device | None = None, run_config: dict[str, Any] | None = None,
              seq_len: int | None = None, extra_callbacks: Sequence[Any] = ()) -> Trainer:
        """The trainer with this config's callbacks (``speed`` gets ``seq_len``, ``wandb`` the run
        config), the checkpointer and ``extra_callbacks``. ``run_config`` is written to
        ``run_dir/config.json`` (rank 0) and into every checkpoint."""
        callbacks = []
        for name, options in self.callbacks.items():
            if options is None:
                continue
            opts = dict(options)
            if name == "speed":
                opts.setdefault("seq_len", seq_len)
            if name == "wandb":
                opts.setdefault("config", run_config)
            callbacks.append(build_callback(name, **opts))
        callbacks.append(Checkpointer(every=self.checkpoint.every, save_at_end=self.checkpoint.save_at_end))
        callbacks.extend(extra_callbacks)
        if run_config is not None and get_rank() == 0:
            Path(self.run_dir).mkdir(parents=True, exist_ok=True)
            write_json_atomic(Path(self.run_dir) / "config.json", run_config)
        return Trainer(model=model, optimizer=optimizer, loss_fn=loss_fn, loader=loader, cfg=self,
                       optim_cfg=optim_cfg, parallel_cfg=parallel_cfg, device=device, callbacks=callbacks,
                       run_config=run_config)


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


class Trainer:
    """Also the :class:`olmo_core.interfaces.TrainerState` callbacks see."""

    def __init__(self, *, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, loader: BatchLoader,
                 cfg: TrainerConfig, optim_cfg: OptimConfig, parallel_cfg: ParallelConfig | None = None,
                 device: torch.device | None = None, callbacks: Sequence[Any] = (),
                 run_config: dict[str, Any] | None = None) -> None:
        self.model, self.optimizer, self.loss_fn, self.loader = model, optimizer, loss_fn, loader
        self.cfg, self.optim_cfg = cfg, optim_cfg
        self.parallel_cfg = parallel_cfg or ParallelConfig(strategy="single", param_dtype="float32")
        self.device = device or torch.device("cpu")
        self.scheduler = optim_cfg.scheduler.build(optimizer, cfg.max_steps)
        self.spikes = SpikeDetector(cfg.spike)
        self.callbacks = sorted(callbacks, key=lambda c: getattr(c, "priority", 0))
        self.run_config = run_config or {}
        self.run_dir = Path(cfg.run_dir)
        self.checkpoints = CheckpointManager(self.run_dir, cfg.checkpoint, world_size=get_world_size())
        self.step = 0
        self.tokens_seen = 0
        self.is_main_process = get_rank() == 0
        self._metrics: dict[str, Any] = {}
        self.last_checkpoint: Path | None = None

    # -- TrainerState ------------------------------------------------------------------------------
    def log(self, metrics: Mapping[str, float]) -> None:
        self._metrics.update(metrics)

    # -- checkpoints ---------------------------------------------------------------------------------
    def trainer_state(self) -> dict[str, Any]:
        return {"step": self.step, "tokens_seen": self.tokens_seen, "data": self.loader.state_dict(),
                "scheduler": self.scheduler.state_dict(), "spikes": self.spikes.state_dict(),
                "callbacks": [c.state_dict() for c in self.callbacks],
                "callback_names": [type(c).__name__ for c in self.callbacks]}

    def save_checkpoint(self) -> Path:
        path = self.checkpoints.save(self.step, model=self.model, optimizer=self.optimizer,
                                     trainer_state=self.trainer_state(), config=self.run_config)
        self.last_checkpoint = path
        for cb in self.callbacks:
            cb.on_checkpoint(self, path)
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        state = self.checkpoints.load(Path(path), model=self.model, optimizer=self.optimizer)
        self.step, self.tokens_seen = int(state["step"]), int(state["tokens_seen"])
        self.loader.load_state_dict(state["data"] if state["data"] is not None else self._data_state_at(path))
        self.scheduler.load_state_dict(state["scheduler"])
        self.spikes.load_state_dict(state.get("spikes", {}))
        by_name = dict(zip(state.get("callback_names", []), state.get("callbacks", [])))
        for cb in self.callbacks:
            if type(cb).__name__ in by_name:
                cb.load_state_dict(by_name[type(cb).__name__])
        if self.is_main_process:
            print(f"resumed from {path} at step {self.step}", flush=True)

    def _data_state_at(self, path: str | Path) -> dict[str, Any] | None:
        """A checkpoint converted from another program (``olmo-core convert from-olmo-core``) records no
        position in *our* data order (OLMo-core's order is its own): olmo-core's loader continues its
        order at the checkpoint's step, as if this run had taken the steps before it; any other loader
        is handed ``None`` and decides (a loader replaying the other program's batches starts there)."""
        state = self.loader.state_dict()
        if "batches_consumed" not in state:
            return None
        if self.is_main_process:
            print(f"{path}: no data position recorded (converted checkpoint); the data order continues at "
                  f"step {self.step}", flush=True)
        return {**state, "batches_consumed": self.step}

    def maybe_resume(self) -> None:
        from olmo_core.checkpoint.manager import latest_checkpoint

        mode = self.cfg.resume
        if mode == "none":
            path = None
        elif mode == "auto":
            path = latest_checkpoint(self.run_dir) if self.is_main_process else None
            from olmo_core.distributed.utils import broadcast_object

            path = broadcast_object(path)
        else:
            path = Path(mode)
        if path is not None:
            self.load_checkpoint(path)
        elif self.cfg.load_path:
            CheckpointManager.load(Path(self.cfg.load_path), model=self.model, optimizer=None)

    # -- the step --------------------------------------------------------------------------------
    def _num_targets(self, mb: Mapping[str, Any]) -> int:
        fn = getattr(self.loss_fn, "num_targets", None)
        return int(fn(mb)) if fn is not None else count_targets(mb["labels"])

    def _digests(self, micro_batches: Iterable[Mapping[str, Any]]) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        rank_offset = get_rank() * 1_000_000_000  # positions for loaders that do not give any
        k = 0
        for mb in micro_batches:
            ids = mb.get("input_ids")
            if not isinstance(ids, torch.Tensor):
                continue
            pos = mb.get("batch_position")
            for i, row in enumerate(ids.cpu().numpy()):
                p = int(pos[i]) if pos is not None else rank_offset + k
                out.append((p, instance_digest(row)))
                k += 1
        return out

    def train_step(self, micro_batches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        model, world = self.model, get_world_size()
        self.model.train()
        lr = self.scheduler.set_step(self.step)
        digests = self._digests(micro_batches) if self.cfg.digest_batches else []
        local_targets = [self._num_targets(mb) for mb in micro_batches]
        local_tokens = sum(int(mb["input_ids"].numel()) for mb in micro_batches if "input_ids" in mb)
        counts = all_reduce_sum(torch.tensor([sum(local_targets), local_tokens], dtype=torch.float64,
                                             device=self.device))
        global_targets, global_tokens = max(float(counts[0]), 1.0), int(counts[1])
        # DDP and FSDP average gradients over ranks; the loss is a sum over the global batch instead.
        scale = world / global_targets
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        metric_sums: dict[str, torch.Tensor] = {}
        aux_sums: dict[str, torch.Tensor] = {}
        inner = unwrap(model)
        pop_aux = getattr(inner, "pop_auxiliary_losses", None)
        pop_metrics = getattr(inner, "pop_metrics", None)
        model_metrics: dict[str, torch.Tensor] = {}
        n_mb = len(micro_batches)
        for i, cpu_mb in enumerate(micro_batches):
            mb = _to_device(cpu_mb, self.device)
            with (gradient_sync(model, i == n_mb - 1), autocast_context(model, self.parallel_cfg, self.device),
                  sdpa_context(self.parallel_cfg)):
                out = self.loss_fn(model, mb)
                loss = out.loss_sum * scale
                aux = pop_aux() if pop_aux is not None else {}
                share = local_targets[i] / global_targets
                for name, value in aux.items():
                    loss = loss + value * (share * world)
                    aux_sums[name] = aux_sums.get(name, 0) + value.detach().double() * share
            loss.backward()
            loss_sum += out.loss_sum.detach().double()
            for name, value in out.metrics.items():
                metric_sums[name] = metric_sums.get(name, 0) + torch.as_tensor(value).detach().double()
            if pop_metrics is not None:
                for name, value in pop_metrics().items():
                    model_metrics[name] = model_metrics.get(name, 0) + torch.as_tensor(value).detach().double().cpu()

        names = sorted(metric_sums)
        anames = sorted(aux_sums)
        packed = torch.stack([loss_sum, *[metric_sums[n] for n in names], *[aux_sums[n] for n in anames]])
        packed = all_reduce_sum(packed.to(self.device)).cpu()
        loss_value = float(packed[0]) / global_targets
        metrics: dict[str, Any] = {"train/loss": loss_value}
        for j, n in enumerate(names):
            metrics[f"train/{n}"] = float(packed[1 + j]) / global_targets
        aux_total = 0.0
        for j, n in enumerate(anames):
            v = float(packed[1 + len(names) + j])
            metrics[f"train/aux/{n}"] = v
            aux_total += v
        if anames:
            metrics["train/total_loss"] = loss_value + aux_total
        for n, v in model_metrics.items():
            metrics[f"model/{n}"] = float(v.float().mean()) if v.numel() > 1 else float(v)

        norm = float(clip_grad_norm(model.parameters(), max_norm_at(self.step, self.optim_cfg)))
        take, reason = self.spikes.decide(self.step + 1, metrics.get("train/total_loss", loss_value), norm)
        if take:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

        if self.cfg.digest_batches:
            gathered = all_gather_object(digests)
            metrics["data/batch_digest"] = batch_digest([d for part in gathered for d in part])  # type: ignore[union-attr]
        metrics.update({"optim/lr": lr, "optim/grad_norm": norm, "train/num_target_tokens": int(global_targets),
                        "train/skipped_step": int(not take), "throughput/tokens_seen": self.tokens_seen + global_tokens})
        if reason is not None:
            metrics["train/anomaly"] = reason
            if self.is_main_process:
                print(f"step {self.step + 1}: {reason}; "
                      f"{'skipped' if not take else 'taken (spike.action=log)'}", flush=True)
        self.tokens_seen += global_tokens
        return metrics

    def fit(self) -> dict[str, Any]:
        """Train to ``max_steps`` (resuming first if configured); returns the last step's metrics."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.is_main_process:
            for p in self.checkpoints.discard_partials():
                print(f"removed {p}: a checkpoint write that did not finish", flush=True)
        self.maybe_resume()
        for cb in self.callbacks:
            cb.on_train_start(self)
        last: dict[str, Any] = {}
        t0 = time.perf_counter()
        if self.step < self.cfg.max_steps:
            for micro_batches in self.loader:
                metrics = self.train_step(micro_batches)
                self.step += 1
                self._metrics = metrics
                for cb in self.callbacks:
                    cb.on_step_end(self, metrics)
                last = metrics
                if self.step >= self.cfg.max_steps:
                    break
        for cb in self.callbacks:
            cb.on_train_end(self)
        if self.is_main_process and last:
            print(f"done: {self.step} steps, {self.tokens_seen:,} tokens, {time.perf_counter() - t0:.1f}s, final loss "
                  f"{last.get('train/loss', float('nan')):.4f}", flush=True)
        return last
