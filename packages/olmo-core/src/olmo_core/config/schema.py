"""The run config schema: one dataclass per group, composed by :class:`RunConfig`, whose
:meth:`RunConfig.build` is the pretraining trainer.

``config/`` is the top layer of olmo-core: it composes the model, data, optimizer, loss and trainer
configs, each of which builds its own object; nothing below it imports it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from olmo_core.checkpoint.rng import seed_all
from olmo_core.data.loader import DataConfig
from olmo_core.distributed.parallelize import ParallelConfig
from olmo_core.distributed.utils import get_rank, get_world_size, init_distributed
from olmo_core.model.config import ModelConfig
from olmo_core.optim.adamw import OptimConfig
from olmo_core.train.loss import LossConfig
from olmo_core.train.trainer import Trainer, TrainerConfig


@dataclass
class ClusterConfig:
    """Where the run is launched (used by ``olmo-core launch`` to write Slurm scripts)."""

    name: str = "local"
    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int = 2
    partition: str | None = None
    account: str | None = None
    time: str = "48:00:00"
    #: ``torchrun`` (one task per node, torchrun starts a process per GPU) or ``srun`` (one task per GPU/GCD)
    launcher: str = "torchrun"
    env: dict[str, str] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    cpu_bind: str | None = None


def _defaults(model: str, data: str, optim: str, trainer: str, cluster: str) -> list[Any]:
    return ["_self_", {"model": model}, {"data": data}, {"optim": optim}, {"trainer": trainer},
            {"cluster": cluster}]


@dataclass
class RunConfig:
    defaults: list[Any] = field(default_factory=lambda: _defaults("tiny", "tiny", "tiny", "tiny", "local"))
    model: ModelConfig = MISSING
    data: DataConfig = MISSING
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    cluster: ClusterConfig = MISSING
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    init_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to ``config.json`` and into checkpoints."""
        d = dataclasses.asdict(self)
        d.pop("defaults", None)
        return d

    def build(self, *, extra_callbacks: Sequence[Any] = ()) -> Trainer:
        """The pretraining trainer: process group, model (initialized from ``init_seed``, then
        parallelized), optimizer, loader, loss and callbacks, each built by its own config."""
        device = init_distributed()
        seed_all(self.trainer.seed)
        model = self.parallel.build(self.model, device, init_seed=self.init_seed)
        loader = self.data.build(rank=get_rank(), world_size=get_world_size(), max_steps=self.trainer.max_steps,
                                 expect_eos_id=self.model.eos_token_id, vocab_limit=self.model.embedding_size)
        vocab = loader.source.dataset.vocab_size
        if vocab is not None and vocab > self.model.embedding_size:  # None: Dolma's files do not record it
            raise ValueError(f"{self.data.paths}: token vocabulary {vocab} exceeds model.embedding_size "
                             f"{self.model.embedding_size}")
        return self.trainer.build(model=model, optimizer=self.optim.build(model), loss_fn=self.loss.build(),
                                  loader=loader, optim_cfg=self.optim, parallel_cfg=self.parallel, device=device,
                                  run_config=self.to_dict(), seq_len=self.data.seq_len,
                                  extra_callbacks=extra_callbacks)
