"""Ours side of ``grpo_step.py``: open-instruct's GRPO on olmo-core, run in the workspace's interpreter.

The pieces ``open_instruct.train.grpo.run`` assembles, driven step by step as the DPO bench drives
its trainer: the policy and a frozen reference loaded from the saved ``tiny`` checkpoint, the rollout
batch source ``open_instruct.grpo.loader.RolloutBatches`` (sampling with olmo-core's KV-cache
``generate``, rewards, group advantages, reference log-probs per micro-batch, the atomic rollout log),
``GRPOLoss`` and olmo-core's ``Trainer.train_step`` with a fresh AdamW. A round resets the weights and
rebuilds loader, optimizer and trainer, so every round is the same work.

Two bench-only adjustments, so the work equals TRL's: the prompts are taken in file order (TRL's
sampler with ``shuffle_dataset=False``; ours draws a seeded permutation), and sampling does not stop
at eos (the tokenizer handed to the loader reports eos id -1, which no token has), so every completion
is exactly ``completion_length`` tokens, as TRL's with ``min_new_tokens == max_new_tokens``.

The output: the digest of the prompt token ids of every rollout in order, the per-step counts of
sequences, prompt tokens and completion tokens (the loss's labels), the sequences the reference
model scored, the optimizer steps taken, and a probe sequence's log-probs under the initial weights.
With ``OLMO_BENCH_PROFILE=1`` each round also reports where its time went (``grpo_profile.py``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from typing import Any


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _NoStopTokenizer:
    """The workspace tokenizer with eos id -1 for sampling: ``generate`` never stops early."""

    eos_token_id = -1

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def setup(config: dict[str, Any]):
    import torch

    torch.set_num_threads(int(config["threads"]))
    from olmo_core.checkpoint.model_io import load_model_checkpoint
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.optim.scheduler import SchedulerConfig
    from olmo_core.train.trainer import Trainer, TrainerConfig
    from open_instruct.grpo import loader as loader_mod
    from open_instruct.grpo.loader import RolloutBatches, RolloutConfig
    from open_instruct.grpo.objective import GRPOLoss
    from open_instruct.tokenizer import load_tokenizer

    reward = _load("grpo_reward", config["reward_module"])
    profiling = _load("grpo_profile", config["profile_module"])

    model = load_model_checkpoint(config["ckpt"])
    reference = load_model_checkpoint(config["ckpt"]).eval().requires_grad_(False)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with open(config["prompts"]) as f:
        prompts = json.load(f)
    group, per_step, steps = int(config["group"]), int(config["prompts_per_step"]), int(config["steps"])
    length = int(config["completion_length"])
    if len(prompts) != per_step * steps:
        raise ValueError(f"{len(prompts)} prompts for {steps} steps of {per_step}")
    examples = [{"id": str(i), "answer": a} for i, a in enumerate(config["answers"])]
    tokenizer = _NoStopTokenizer(load_tokenizer())
    rollout_cfg = RolloutConfig(group_size=group, max_new_tokens=length, temperature=float(config["temperature"]),
                                top_p=1.0, num_iterations=1, scale_rewards=True, rows_per_call=per_step * group)
    loss_fn = GRPOLoss(beta=float(config["beta"]), clip_low=float(config["clip"]), clip_high=float(config["clip"]),
                       loss_type=config["loss_type"], max_completion_length=length,
                       temperature=float(config["temperature"]))
    ocfg = OptimConfig(lr=float(config["lr"]), betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                       max_grad_norm=float(config["max_grad_norm"]),
                       scheduler=SchedulerConfig(name="constant", warmup_steps=0))

    def bench_reward(example: dict, text: str) -> float:
        return reward.score(text, example["answer"])

    class FileOrder(RolloutBatches):
        def prompt_indices(self, batch: int) -> list[int]:  # TRL's order: the prompts as the file has them
            return list(range(batch * per_step, (batch + 1) * per_step))

    state: dict[str, Any] = {"ref_sequences": 0}

    def count(_module, args, kwargs):
        state["ref_sequences"] += int((args[0] if args else kwargs["input_ids"]).shape[0])

    reference.register_forward_pre_hook(count, with_kwargs=True)

    probe = torch.tensor([config["probe"]], dtype=torch.long)
    with torch.no_grad():
        logits = model(probe)[..., :model.vocab_size].float()
    probe_logps = torch.log_softmax(logits[0, :-1], -1).gather(-1, probe[0, 1:, None])[:, 0].tolist()

    phases = profiling.Phases("ours")
    if profiling.ENABLED:  # the functions the loader and the loss call, one per phase
        loader_mod.sample = phases.wrap("generate", loader_mod.sample)
        loader_mod.rewards_and_advantages = phases.wrap("reward", loader_mod.rewards_and_advantages)
        loader_mod.write_log = phases.wrap("rollout log", loader_mod.write_log)
        RolloutBatches._logps = phases.wrap("reference logprobs", RolloutBatches._logps)
        GRPOLoss.__call__ = phases.wrap("policy forward + loss", GRPOLoss.__call__)

    def round_fn() -> dict[str, Any]:
        model.load_state_dict(initial)
        model.zero_grad(set_to_none=True)
        state["ref_sequences"] = 0
        phases.start()
        loader = FileOrder(model, examples, prompts, tokenizer, rollout_cfg, prompts_per_step=per_step,
                           micro_batch_size=per_step, run_dir=config["run_dir"], seed=0, reference=reference,
                           reward_fn=bench_reward)
        trainer = Trainer(model=model, optimizer=ocfg.build(model), loss_fn=loss_fn, loader=loader,
                          cfg=TrainerConfig(run_dir=config["run_dir"], max_steps=steps, resume="none",
                                            digest_batches=False, callbacks={}), optim_cfg=ocfg)
        prompt_ids, per_step_work = [], []
        for mbs in loader:
            rollout = loader.current
            prompt_ids.extend(rollout.prompts)
            labels = [mb["labels"] for mb in mbs]
            per_step_work.append({
                "sequences": sum(int(x.shape[0]) for x in labels),
                "prompt_tokens": sum(len(p) for p in rollout.prompts),
                "completion_tokens": sum(int(x.sum()) for x in labels),
                "completion_lengths": sorted({int(n) for x in labels for n in x.sum(1).tolist()})})
            trainer.train_step(mbs)
            trainer.step += 1
            if trainer.step >= steps:
                break
        out: dict[str, Any] = {
            "prompts": hashlib.sha256(json.dumps(prompt_ids).encode()).hexdigest(), "steps": per_step_work,
            "optimizer_steps": trainer.step, "ref_sequences": state["ref_sequences"], "probe_logps": probe_logps}
        units = sum(s["prompt_tokens"] + s["completion_tokens"] for s in per_step_work)
        result: dict[str, Any] = {"units": float(units), "output": out}
        if profiling.ENABLED:
            out["profile"] = phases.report()
        return result

    return round_fn
