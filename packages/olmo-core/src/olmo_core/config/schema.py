"""The run config schema: one dataclass per group, composed by :class:`RunConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from olmo_core.data.loader import DataConfig
from olmo_core.distributed.parallelize import ParallelConfig
from olmo_core.model.config import ModelConfig
from olmo_core.optim.adamw import OptimConfig
from olmo_core.train.trainer import TrainerConfig


@dataclass
class LossConfig:
    """``name`` of a registered loss (:data:`olmo_core.train.loss.LOSSES`); ``z_loss_multiplier``
    (e.g. 1e-4) adds the z-loss, ``null`` leaves it out."""

    name: str = "lm"
    z_loss_multiplier: float | None = None


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
