"""GRPO rollouts: sample a group of completions per prompt, score them, turn them into micro-batches,
and log every rollout batch.

* Prompts come from a task JSONL (``open_instruct.tasks`` format): the turns before the first
  assistant turn, encoded with the chat template up to and including ``<|assistant|>\\n``.
* Sampling is olmo-core's KV-cache ``generate`` (temperature, top-p), one seeded generator per call,
  the seed drawn from (run seed, step, rank, call): the same weights give the same tokens, so a step
  replays exactly.
* The reward of a completion is ``reward_fn(example, text)``; the default is the verifier's score
  (``open_instruct.tasks.check_response``).
* A rollout batch is logged to ``<run_dir>/rollouts/step<N>.jsonl`` (``N``: the first optimizer step
  that trains on it), written atomically: a header line (step, seed, digest, counts) and one line per
  completion (rank, prompt index and id, sample, completion text and token ids, reward, advantage,
  and with several iterations per batch the sampling policy's log-probs, which a resumed run needs to
  replay the batch)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from olmo_core.distributed.parallelize import unwrap
from olmo_core.fileio import write_atomic
from olmo_core.generate import generate
from open_instruct.data.template import encode_prompt as template_prompt
from open_instruct.grpo.loss import group_advantages
from open_instruct.interfaces import DataFormatError, parse_messages
from open_instruct.tasks import check_response, read_examples
from open_instruct.tokenizer import ChatTokenizer

RewardFn = Callable[[dict, str], float]


def verified_reward(example: dict, response: str) -> float:
    """The verifier's score of ``response`` (1/0 for binary checks, the fraction of constraints met
    for multi-constraint ones)."""
    return float(check_response(example, response).score)


def load_task_prompts(path: str | Path) -> list[dict]:
    """The examples of a task JSONL (``open_instruct.tasks.read_examples``: a bad record is a
    ``DataFormatError`` naming file, line and field); an empty file is refused too."""
    out = read_examples(path)
    if not out:
        raise DataFormatError("no task examples", where=str(path))
    return out


def prompt_turns(example: dict, where: str | None = None) -> list[dict]:
    """The turns before the first assistant turn (the gold answer, if any, is not part of the prompt)."""
    msgs = example.get("messages")
    parse_messages(msgs, where=where)
    end = next((i for i, m in enumerate(msgs) if m["role"] == "assistant"), len(msgs))
    return msgs[:end]


def encode_prompt(tokenizer: ChatTokenizer, example: dict, template: str = "tulu") -> list[int]:
    """A task example's generation prompt (``open_instruct.data.template.encode_prompt``)."""
    return template_prompt(tokenizer, parse_messages(example["messages"]), template)


def sampling_seed(seed: int, step: int, rank: int, call: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank, call]).generate_state(1)[0])


@dataclass
class Rollout:
    """One rank's share of a rollout batch: ``len(prompt_index) * group_size`` completions, groups
    one after the other."""

    step: int
    prompt_index: list[int]  # per completion: index of its example in the task file
    prompts: list[list[int]]
    completions: list[list[int]]
    ended: list[bool]  # stopped at eos (else cut at max_new_tokens)
    texts: list[str]
    rewards: list[float]
    advantages: list[float]
    old_logps: list[list[float]] | None = None  # per completion target token (incl. eos)
    micro_batches: list[dict[str, torch.Tensor]] = field(default_factory=list)


def sample(policy: nn.Module, prompts: Sequence[list[int]], *, group_size: int, max_new_tokens: int,
           temperature: float, top_p: float, eos_token_id: int, pad_token_id: int, seed: int, step: int,
           rank: int, rows_per_call: int) -> tuple[list[list[int]], list[bool]]:
    """``group_size`` completions per prompt (groups in prompt order) and whether each ended at eos."""
    model = unwrap(policy)
    rows = [list(p) for p in prompts for _ in range(group_size)]
    was_training = model.training
    model.eval()
    out: list[list[int]] = []
    try:
        for call, start in enumerate(range(0, len(rows), rows_per_call)):
            out += generate(model, rows[start:start + rows_per_call], max_new_tokens, temperature=temperature,
                            top_p=top_p, eos_token_id=eos_token_id, pad_token_id=pad_token_id,
                            seed=sampling_seed(seed, step, rank, call))
    finally:
        model.train(was_training)
    # generate() drops the eos: a completion shorter than the budget stopped at it
    return out, [len(c) < max_new_tokens for c in out]


def collate(prompts: Sequence[list[int]], completions: Sequence[list[int]], ended: Sequence[bool],
            advantages: Sequence[float], *, eos_token_id: int, pad_token_id: int) -> dict[str, torch.Tensor]:
    """Rows ``prompt + completion (+ eos)``, right-padded; ``labels`` marks the completion tokens
    and the eos, the tokens the loss covers (as TRL's completion mask)."""
    seqs = [list(p) + list(c) + ([eos_token_id] if e else []) for p, c, e in zip(prompts, completions, ended)]
    width = max(len(s) for s in seqs)
    b = len(seqs)
    ids = torch.full((b, width), pad_token_id, dtype=torch.long)
    labels = torch.zeros((b, width), dtype=torch.bool)
    doc_ids = torch.zeros((b, width), dtype=torch.long)
    for i, (p, s) in enumerate(zip(prompts, seqs)):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        labels[i, len(p):len(s)] = True
        doc_ids[i, :len(s)] = 1  # padding is document 0 and never attended to by real tokens
    positions = torch.arange(width).expand(b, width).clone()
    return {"input_ids": ids, "labels": labels, "doc_ids": doc_ids, "position_ids": positions,
            "advantages": torch.tensor(list(advantages), dtype=torch.float32)}


def per_token(values: Sequence[Sequence[float]], labels: torch.Tensor) -> torch.Tensor:
    """Per-completion token lists back into a ``[B, T-1]`` tensor aligned with ``labels[:, 1:]``."""
    mask = labels[:, 1:]
    flat = torch.tensor([v for row in values for v in row], dtype=torch.float32)
    return torch.zeros(mask.shape, dtype=torch.float32).masked_scatter(mask, flat)


def from_per_token(x: torch.Tensor, labels: torch.Tensor) -> list[list[float]]:
    mask = labels[:, 1:]
    return [x[i][mask[i]].tolist() for i in range(x.shape[0])]


def rewards_and_advantages(examples: Sequence[dict], prompt_index: Sequence[int], texts: Sequence[str],
                           group_size: int, reward_fn: RewardFn, scale_rewards: bool) -> tuple[list[float], list[float]]:
    rewards = [float(reward_fn(examples[i], t)) for i, t in zip(prompt_index, texts)]
    adv = group_advantages(torch.tensor(rewards, dtype=torch.float32), group_size, scale=scale_rewards)
    return rewards, adv.tolist()


# -- the rollout log -------------------------------------------------------------------------------


def log_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / "rollouts" / f"step{step}.jsonl"


def records(r: Rollout, rank: int, examples: Sequence[dict], group_size: int) -> list[dict[str, Any]]:
    out = []
    for k, i in enumerate(r.prompt_index):
        rec: dict[str, Any] = {"rank": rank, "prompt_index": i, "prompt_id": examples[i].get("id"),
                               "sample": k % group_size, "completion": r.texts[k],
                               "completion_ids": r.completions[k], "ended": r.ended[k],
                               "reward": r.rewards[k], "advantage": r.advantages[k]}
        if r.old_logps is not None:
            rec["old_logps"] = r.old_logps[k]
        out.append(rec)
    return out


def write_log(run_dir: str | Path, step: int, seed: int, group_size: int, recs: list[dict[str, Any]]) -> Path:
    """Header line (with the sha256 of the record lines) then the records, atomically."""
    lines = [json.dumps(r, ensure_ascii=False) for r in recs]
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    rewards = [r["reward"] for r in recs]
    header = {"step": step, "seed": seed, "group_size": group_size, "completions": len(recs),
              "prompts": len(recs) // group_size, "reward_mean": sum(rewards) / max(len(rewards), 1),
              "digest": digest}
    path = log_path(run_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "\n".join([json.dumps(header), *lines]) + "\n")
    return path


def read_log(run_dir: str | Path, step: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(header, records)``; the digest is checked, a damaged log is an error naming the file."""
    path = log_path(run_dir, step)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    body = lines[1:]
    if hashlib.sha256("\n".join(body).encode("utf-8")).hexdigest() != header.get("digest"):
        raise ValueError(f"{path}: rollout log does not match its digest")
    return header, [json.loads(line) for line in body]
