"""The batch source olmo-core's Trainer iterates for GRPO: per optimizer step, this rank's
micro-batches of freshly sampled completions.

It holds the policy module the Trainer optimizes, so a rollout drawn for step ``k`` is sampled from
the weights after ``k`` updates (the Trainer asks for the next batch only after the previous
step). With ``num_iterations`` (TRL's mu) ``> 1`` a rollout batch serves that many consecutive steps;
its ``old_logps`` are the sampling policy's, so the ratio moves away from 1 after the first. The
position is the number of steps served; ``state_dict``/``load_state_dict`` resume exactly: a resumed
run samples the next batch from the same weights with the same seed, and a run resumed in the
middle of a batch's iterations replays it from its log (``rollouts/step<N>.jsonl``).

``RolloutCallback`` (a Trainer callback) hands the loader the Trainer's model and logs each step's
rollout statistics: mean reward, the share
of groups with one reward for all (no gradient), completion length and the share cut at the budget."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from olmo_core.distributed.utils import all_gather_object, all_reduce_sum
from olmo_core.train.callbacks.base import TrainerCallback
from open_instruct.grpo.logprobs import completion_logprobs
from open_instruct.grpo.rollouts import (
    RewardFn,
    Rollout,
    collate,
    from_per_token,
    per_token,
    read_log,
    records,
    rewards_and_advantages,
    sample,
    verified_reward,
    write_log,
)
from open_instruct.tokenizer import ChatTokenizer


@dataclass
class RolloutConfig:
    """How a rollout batch is drawn (defaults: open-instruct's ``grpo_fast``): ``group_size``
    completions per prompt (its ``num_samples_per_prompt_rollout``), at most ``max_new_tokens`` each
    (``response_length``), sampled at ``temperature`` / ``top_p``; ``num_iterations`` optimizer steps
    per batch (TRL's mu, grpo_fast's ``num_epochs``); ``scale_rewards``: divide by the group's std
    (GRPO) or only centre (Dr. GRPO); ``rows_per_call``: completions per ``generate`` call (memory)."""

    group_size: int = 4
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 1.0
    num_iterations: int = 1
    scale_rewards: bool = True
    rows_per_call: int = 256


class RolloutBatches:
    """``prompts_per_step`` prompts per optimizer step over all ranks, ``micro_batch_size`` prompts
    (each with its group) per micro-batch; ``seed`` seeds the sampling, ``order_seed`` the prompt
    order. ``policy`` may be bound later (``RolloutCallback`` binds the Trainer's model)."""

    def __init__(self, policy: nn.Module | None, examples: Sequence[dict], prompts: Sequence[list[int]],
                 tokenizer: ChatTokenizer, rollout: RolloutConfig, *, prompts_per_step: int, micro_batch_size: int,
                 run_dir: str | Path, seed: int = 0, order_seed: int = 0, reference: nn.Module | None = None,
                 reward_fn: RewardFn = verified_reward, rank: int = 0, world_size: int = 1) -> None:
        s = rollout
        if prompts_per_step % world_size:
            raise ValueError(f"batch.global_batch_size: {prompts_per_step} prompts per step do not split over "
                             f"{world_size} ranks")
        if prompts_per_step > len(examples):
            raise ValueError(f"batch.global_batch_size: {prompts_per_step} prompts per step, but the task file has "
                             f"{len(examples)}")
        if micro_batch_size < 1:
            raise ValueError(f"batch.micro_batch_size={micro_batch_size} must be >= 1 (prompts)")
        if s.group_size < 2:
            raise ValueError(f"group_size={s.group_size}: a group needs at least 2 completions to compare")
        if s.num_iterations < 1:
            raise ValueError(f"num_iterations={s.num_iterations} must be >= 1")
        self.policy, self.examples, self.prompts, self.tokenizer, self.s = policy, examples, prompts, tokenizer, s
        self.prompts_per_step, self.micro_batch_size = prompts_per_step, micro_batch_size * s.group_size
        self.run_dir, self.seed, self.order_seed = Path(run_dir), seed, order_seed
        self.reference, self.reward_fn = reference, reward_fn
        self.rank, self.world_size = rank, world_size
        self.step = 0  # steps served
        self.current: Rollout | None = None
        self.last: Rollout | None = None

    # -- which prompts --------------------------------------------------------------------------
    @property
    def batches_per_epoch(self) -> int:
        return len(self.examples) // self.prompts_per_step

    def prompt_indices(self, batch: int) -> list[int]:
        """This rank's prompts of rollout batch ``batch`` (a seeded permutation per epoch)."""
        epoch, k = divmod(batch, self.batches_per_epoch)
        order = np.random.default_rng([self.order_seed, epoch]).permutation(len(self.examples))
        g = order[k * self.prompts_per_step:(k + 1) * self.prompts_per_step]
        share = self.prompts_per_step // self.world_size
        return [int(i) for i in g[self.rank * share:(self.rank + 1) * share]]

    # -- building a batch -----------------------------------------------------------------------
    def _micro_batches(self, r: Rollout) -> list[dict[str, torch.Tensor]]:
        out = []
        n = self.micro_batch_size
        for a in range(0, len(r.completions), n):
            b = slice(a, a + n)
            out.append(collate(r.prompts[b], r.completions[b], r.ended[b],
                               r.advantages[b], eos_token_id=self.tokenizer.eos_token_id,
                               pad_token_id=self.tokenizer.pad_token_id))
        return out

    @torch.no_grad()
    def _logps(self, model: nn.Module, mb: dict[str, torch.Tensor]) -> torch.Tensor:
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            batch = {k: v.to(device) for k, v in mb.items()}
            return completion_logprobs(model, batch, self.s.temperature).cpu()
        finally:
            model.train(was_training)

    def _finish(self, r: Rollout, old: list[list[float]] | None) -> Rollout:
        r.micro_batches = self._micro_batches(r)
        if self.s.num_iterations > 1:
            if old is None:  # the sampling policy's log-probs, on the same micro-batches the loss will see
                old = [x for mb in r.micro_batches for x in from_per_token(self._logps(self.policy, mb), mb["labels"])]
            r.old_logps = old
            k = 0
            for mb in r.micro_batches:
                n = mb["input_ids"].shape[0]
                mb["old_logps"] = per_token(old[k:k + n], mb["labels"])
                k += n
        if self.reference is not None:
            for mb in r.micro_batches:
                mb["ref_logps"] = self._logps(self.reference, mb)
        return r

    def rollout(self, step: int) -> Rollout:
        """Sample, score and log the rollout batch first trained on at (0-based) ``step``."""
        s = self.s
        if self.policy is None:
            raise RuntimeError("RolloutBatches has no policy to sample from (bind one, e.g. with RolloutCallback)")
        index = self.prompt_indices(step // s.num_iterations)
        prompts = [self.prompts[i] for i in index]
        completions, ended = sample(self.policy, prompts, group_size=s.group_size, max_new_tokens=s.max_new_tokens,
                                    temperature=s.temperature, top_p=s.top_p,
                                    eos_token_id=self.tokenizer.eos_token_id,
                                    pad_token_id=self.tokenizer.pad_token_id, seed=self.seed, step=step,
                                    rank=self.rank, rows_per_call=s.rows_per_call)
        per_completion = [i for i in index for _ in range(s.group_size)]
        texts = [self.tokenizer.decode(c) for c in completions]
        rewards, adv = rewards_and_advantages(self.examples, per_completion, texts, s.group_size, self.reward_fn,
                                              s.scale_rewards)
        r = Rollout(step, per_completion, [self.prompts[i] for i in per_completion], completions, ended, texts,
                    rewards, adv)
        self._finish(r, None)
        gathered = all_gather_object(records(r, self.rank, self.examples, s.group_size))
        if self.rank == 0:
            write_log(self.run_dir, step + 1, self.seed, s.group_size, [x for part in gathered for x in part])
        return r

    def replay(self, step: int) -> Rollout:
        """The rollout batch first trained on at ``step``, from its log (a run resumed mid-iterations)."""
        header, recs = read_log(self.run_dir, step + 1)
        if header.get("seed") != self.seed or header.get("group_size") != self.s.group_size:
            raise ValueError(f"cannot resume: rollout log of step {step + 1} has seed {header.get('seed')} / group "
                             f"size {header.get('group_size')}, this run {self.seed} / {self.s.group_size}")
        mine = [x for x in recs if x["rank"] == self.rank]
        index = [x["prompt_index"] for x in mine]
        r = Rollout(step, index, [self.prompts[i] for i in index], [x["completion_ids"] for x in mine],
                    [x["ended"] for x in mine], [x["completion"] for x in mine], [x["reward"] for x in mine],
                    [x["advantage"] for x in mine])
        return self._finish(r, [x["old_logps"] for x in mine] if self.s.num_iterations > 1 else None)

    # -- BatchLoader ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[list[dict[str, torch.Tensor]]]:
        while True:
            first = self.step - self.step % self.s.num_iterations
            if self.current is None or self.current.step != first:
                self.current = self.rollout(first) if first == self.step else self.replay(first)
            self.last = self.current
            self.step += 1  # advanced before yielding: a checkpoint after this step resumes after it
            yield self.current.micro_batches

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "seed": self.seed, "order_seed": self.order_seed, "num_prompts": len(self.examples),
                "prompts_per_step": self.prompts_per_step, "group_size": self.s.group_size,
                "num_iterations": self.s.num_iterations}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state is None:
            raise ValueError("cannot resume GRPO from a checkpoint without a rollout position")
        mine = self.state_dict()
        for key in ("seed", "order_seed", "num_prompts", "prompts_per_step", "group_size", "num_iterations"):
            if key in state and state[key] != mine[key]:
                raise ValueError(f"cannot resume: the checkpoint's rollout {key} is {state[key]}, this run's is "
                                 f"{mine[key]}")
        self.step, self.current = int(state["step"]), None


class RolloutCallback(TrainerCallback):
    """Binds the Trainer's model (after any resume) as the loader's policy, and logs ``rollout/*`` of
    the batch each step trained on, over all ranks."""

    def __init__(self, loader: RolloutBatches) -> None:
        self.loader = loader

    def on_train_start(self, state: Any) -> None:
        self.loader.policy = state.model

    def on_step_end(self, state: Any, metrics: Any) -> None:
        r = self.loader.last
        if r is None:
            return
        g = self.loader.s.group_size
        rewards = torch.tensor(r.rewards, dtype=torch.float64)
        flat_groups = (rewards.view(-1, g).amax(1) == rewards.view(-1, g).amin(1)).double()
        lengths = torch.tensor([len(c) for c in r.completions], dtype=torch.float64)
        sums = torch.stack([rewards.sum(), torch.tensor(float(len(rewards)), dtype=torch.float64),
                            flat_groups.sum(), torch.tensor(float(flat_groups.numel()), dtype=torch.float64),
                            lengths.sum(), torch.tensor(float(sum(not e for e in r.ended)), dtype=torch.float64)])
        sums = all_reduce_sum(sums.to(getattr(state, "device", None) or "cpu")).tolist()  # nccl needs the device
        state.log({"rollout/reward": sums[0] / sums[1], "rollout/flat_groups": sums[2] / sums[3],
                   "rollout/completion_length": sums[4] / sums[1], "rollout/truncated": sums[5] / sums[1]})
