"""GRPO (RL with verifiable rewards): :class:`GRPOConfig` and :func:`run` on olmo-core's Trainer.

What differs from SFT is the batch source (``RolloutBatches``: each step samples a group of
completions per task prompt from the policy being trained, scores them with the verifiers and
group-normalizes the rewards) and the loss (``GRPOLoss``); the rest is ``open_instruct.train.common``.
Prompts come from a task JSONL (``open_instruct.tasks`` format: the user turn, and the verifier).

Defaults are open-instruct's ``grpo_fast`` (the Tulu 3 RLVR code): 16 prompts per step, 4 samples
each, responses up to 256 tokens, temperature 0.7, lr 2e-5 with linear decay to 0 and no warmup,
AdamW without weight decay, KL to the starting model with the k3 estimator at beta 0.05, clip 0.2
on both sides, one iteration per rollout batch, std-normalized advantages, and its token-level
masked mean (``loss_type="dapo"``); AdamW's (0.9, 0.999, 1e-8) and gradient clipping at 1.0 are
TRL's. ``batch`` counts prompts: ``global_batch_size`` per step, ``micro_batch_size`` per
micro-batch (each with its group); ``batch.epochs`` passes over the prompts set ``trainer.max_steps``
when it is not given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.distributed.utils import get_rank, get_world_size
from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.scheduler import SchedulerConfig
from olmo_core.train.trainer import TrainerConfig
from open_instruct.grpo.loader import RolloutBatches, RolloutCallback, RolloutConfig
from open_instruct.grpo.objective import GRPOLoss
from open_instruct.grpo.rollouts import RewardFn, encode_prompt, load_task_prompts, verified_reward
from open_instruct.train import common
from open_instruct.train.config import BatchConfig, InstructDataConfig, InstructRunConfig, default_trainer


@dataclass
class GRPOConfig(InstructRunConfig):
    """``tasks``: a task JSONL (train split); ``limit``: its first ``limit`` prompts (0: all).
    ``data.max_length`` bounds prompt + ``rollout.max_new_tokens``; ``data.template``/``tokenizer``
    encode the prompts, ``data.seed`` orders them, ``trainer.seed`` seeds the sampling.
    ``loss_type``: ``grpo`` | ``dapo`` | ``dr_grpo`` (``open_instruct.grpo.loss``). ``beta``: weight of
    the k3 KL to the starting model (0: no reference model is built). ``kl_ratio_correction``: scale
    the KL by the importance ratio (TRL's ``use_bias_correction_kl``)."""

    kind: str = "grpo"
    tasks: str = ""
    limit: int = 0
    warmup_ratio: float = 0.0
    data: InstructDataConfig = field(default_factory=lambda: InstructDataConfig(sources=[], max_length=512))
    batch: BatchConfig = field(default_factory=lambda: BatchConfig(global_batch_size=16, micro_batch_size=16,
                                                                   epochs=1))
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    loss_type: str = "dapo"
    beta: float = 0.05
    clip_low: float = 0.2
    clip_high: float = 0.2
    kl_ratio_correction: bool = False
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, max_grad_norm=1.0,
        scheduler=SchedulerConfig(warmup_steps=0, warmup_start_factor=0.0, alpha_f=0.0)))
    trainer: TrainerConfig = field(default_factory=lambda: default_trainer("runs/grpo"))

    def build_loss(self) -> GRPOLoss:
        return GRPOLoss(beta=self.beta, clip_low=self.clip_low, clip_high=self.clip_high, loss_type=self.loss_type,
                        max_completion_length=self.rollout.max_new_tokens, temperature=self.rollout.temperature,
                        kl_ratio_correction=self.kl_ratio_correction)


def run(cfg: GRPOConfig, reward_fn: RewardFn = verified_reward) -> dict[str, Any]:
    """Train; returns (and writes to ``<run_dir>/summary.json``) the run's summary.
    ``reward_fn(example, text) -> float`` replaces the verifier's score (tests, experiments)."""
    if not cfg.tasks:
        raise ValueError("tasks: the task JSONL to draw prompts from is required (tasks=PATH)")
    loss_fn = cfg.build_loss()  # a bad loss_type fails before anything is built
    ctx = common.start(cfg)
    examples = load_task_prompts(cfg.tasks)
    if cfg.limit > 0:
        examples = examples[:cfg.limit]
    prompts = [encode_prompt(ctx.tokenizer, ex, cfg.data.template) for ex in examples]
    model_cfg, ckpt = common.init_model_config(cfg)
    longest = max(len(p) for p in prompts) + cfg.rollout.max_new_tokens
    if longest > cfg.data.max_length:
        raise ValueError(f"data.max_length={cfg.data.max_length} is shorter than the longest prompt plus "
                         f"rollout.max_new_tokens ({longest})")
    reference = None
    if cfg.beta != 0.0:
        reference = common.load_model(model_cfg, ckpt, ctx.device, cfg.init_seed).eval().requires_grad_(False)
    loader = RolloutBatches(None, examples, prompts, ctx.tokenizer, cfg.rollout,
                            prompts_per_step=cfg.batch.global_batch_size, micro_batch_size=cfg.batch.micro_batch_size,
                            run_dir=cfg.trainer.run_dir, seed=cfg.trainer.seed, order_seed=cfg.data.seed,
                            reference=reference, reward_fn=reward_fn, rank=get_rank(), world_size=get_world_size())
    common.set_schedule(cfg, loader.batches_per_epoch * cfg.batch.epochs * cfg.rollout.num_iterations, ckpt)
    summary: dict[str, Any] = {"kind": cfg.kind, "init_from": str(ckpt or cfg.init_from), "prompts": len(examples),
                               "rollouts": str(Path(cfg.trainer.run_dir) / "rollouts")}
    result = common.fit(cfg, ctx, model_cfg, loader=loader, loss_fn=loss_fn, extra_callbacks=[RolloutCallback(loader)])
    summary.update(result.summary(Path(cfg.trainer.run_dir)))
    summary["final_reward"] = result.last.get("rollout/reward")
    return common.write_summary(cfg, ctx, summary)
