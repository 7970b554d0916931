"""What the typed configs of every method (``sft``, ``dpo``, ``grpo``) share (hydra structured configs).

Each method's config subclasses :class:`InstructRunConfig` in its own module
(``open_instruct.train.sft.SFTConfig``, ``.dpo.DPOConfig``, ``.grpo.GRPOConfig``), adds its own knobs
and builds its own loss; ``kind`` names the method (``open_instruct.train.run`` dispatches on it).

``init_from`` is an olmo-core checkpoint folder (what SFT starts from after pretraining, and DPO
from after SFT), a run folder (its latest valid checkpoint) or, for experiments from scratch, a
model preset name (``tiny``). Batch sizes count
*units*: SFT examples or DPO pairs; a micro-batch's units are packed into rows of
``data.max_length`` tokens. ``epochs`` and ``warmup_ratio`` set ``trainer.max_steps`` and
``optim.scheduler.warmup_steps`` when the run starts (as open-instruct does with ``num_train_epochs`` and
``warmup_ratio``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.checkpoint.manager import CheckpointConfig
from olmo_core.distributed.parallelize import ParallelConfig
from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.scheduler import SchedulerConfig
from olmo_core.train.trainer import TrainerConfig
from open_instruct.train.objectives import DPOLoss

SFT_DATA = "../shared/data/instruct/sft.jsonl.zst"
DPO_DATA = "../shared/data/instruct/dpo.jsonl.zst"


@dataclass
class InstructDataConfig:
    """``sources``: ``PATH``, ``PATH:COUNT`` or ``PATH:PERCENT%`` (see ``open_instruct.data.mixing``).
    ``holdout``: units (examples/pairs) kept out of training for evaluation, taken from the end of
    the seeded mix. ``cache_dir``: tokenized datasets and reference log-probs (default
    ``$OPEN_INSTRUCT_CACHE`` or ``~/.cache/open_instruct``). ``tokenizer``: a ``tokenizer.json`` (default:
    the OLMo tokenizer olmo-core ships). ``exclude``: sources in the same syntax whose records' ids
    are left out, e.g. an SFT run's ``exclude=[dpo.jsonl.zst:10000]`` drops exactly the questions a
    DPO run on ``dpo.jsonl.zst:10000`` (same seed) trains and evaluates on."""

    sources: list[str] = field(default_factory=lambda: [f"{SFT_DATA}:1000"])
    exclude: list[str] = field(default_factory=list)
    template: str = "tulu"
    max_length: int = 2048
    seed: int = 0
    holdout: int = 0
    cache_dir: str | None = None
    tokenizer: str | None = None


@dataclass
class BatchConfig:
    global_batch_size: int = 128
    micro_batch_size: int = 8
    epochs: int = 3
    shuffle: bool = True


@dataclass
class PreferenceConfig:
    """``loss``: a registered preference loss (``dpo``, ``dpo_norm``, ``ipo``, ``simpo``, ``hinge``)."""

    loss: str = "dpo"
    beta: float = 0.1
    label_smoothing: float = 0.0
    gamma: float = 0.5
    #: weight of the chosen completions' token-mean NLL added to the preference loss (RPO, Pang et al. 2024;
    #: TRL's old ``rpo_alpha``, in TRL 1.16 ``loss_type=["sigmoid", "sft"], loss_weights=[1, rpo_alpha]``);
    #: None = no NLL term
    rpo_alpha: float | None = None
    #: rows per forward pass when computing the reference cache
    reference_rows_per_batch: int = 8

    def build(self) -> DPOLoss:
        return DPOLoss(self.loss, beta=self.beta, label_smoothing=self.label_smoothing, gamma=self.gamma,
                       rpo_alpha=self.rpo_alpha)


def default_trainer(run_dir: str) -> TrainerConfig:
    """The trainer every method starts from: steps set by the data (``max_steps=-1``), a checkpoint
    every 1000 steps (the last one kept), console, metrics, speed and loss-plot callbacks."""
    return TrainerConfig(run_dir=run_dir, max_steps=-1,
                         callbacks={"console": {}, "metrics_jsonl": {}, "speed": {}, "loss_plot": {}},
                         checkpoint=CheckpointConfig(every=1000, keep_last=1))


@dataclass
class InstructRunConfig:
    """The fields every method's config has; subclassed once per method."""

    kind: str = "sft"
    init_from: str = "tiny"
    init_seed: int = 0
    warmup_ratio: float = 0.03
    data: InstructDataConfig = field(default_factory=InstructDataConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, max_grad_norm=None,
        scheduler=SchedulerConfig(warmup_steps=0, warmup_start_factor=0.0, alpha_f=0.0)))
    trainer: TrainerConfig = field(default_factory=lambda: default_trainer("runs/sft"))
    parallel: ParallelConfig = field(default_factory=lambda: ParallelConfig(param_dtype="float32"))
    meta_init: bool = False

    def build_loss(self) -> Any:
        """The method's loss object (what olmo-core's Trainer calls); each method's config defines it."""
        raise NotImplementedError(f"{type(self).__name__}: a method's config builds its own loss")
