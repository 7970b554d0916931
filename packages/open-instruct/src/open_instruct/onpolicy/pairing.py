"""Binarize scored samples into preference pairs, as Tulu 3 builds its on-policy preference data.

Tulu 3 (section 5.2.1) rates several responses per prompt, takes the highest-rated one as ``chosen``
and a *randomly drawn* lower-rated one as ``rejected``, one pair per prompt, and drops prompts whose
responses all tie. Here the rating is a verifier's verdict: a verified response (``correct``) is
chosen against a failed one, so

* a prompt with at least one verified and one failed sample gives ``pairs_per_prompt`` pairs (1, as
  Tulu 3; more pairs use distinct chosen/rejected texts while they last);
* a prompt whose samples all pass, or all fail, gives no pair (a tie: nothing to prefer). With
  ``gold_when_all_fail`` an all-fail prompt instead pairs the task's gold answer against a failed
  sample (off-policy chosen; off by default, as Tulu 3 has no gold).

Among verified samples the highest verdict score is chosen; ties, and the rejected sample, are
drawn by a generator seeded with the run seed and the prompt's id, so a pair does not depend on
which other prompts are in the set."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Scored(Protocol):
    """What pairing reads of a verdict (``open_instruct.verifiers.Verdict``)."""

    correct: bool
    score: float


@dataclass(frozen=True)
class PairingConfig:
    pairs_per_prompt: int = 1
    gold_when_all_fail: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pairs_per_prompt < 1:
            raise ValueError(f"pairs_per_prompt={self.pairs_per_prompt}: must be at least 1")


def prompt_rng(seed: int, example_id: str) -> random.Random:
    """A generator for one prompt, independent of the others in the set."""
    digest = hashlib.sha256(f"{seed}:{example_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def outcome(verdicts: Sequence[Scored]) -> str:
    """``mixed``, ``all_correct`` or ``all_failed`` (what decides whether a prompt gives a pair)."""
    n_ok = sum(bool(v.correct) for v in verdicts)
    return "all_correct" if n_ok == len(verdicts) else "all_failed" if n_ok == 0 else "mixed"


def pair_responses(example: dict[str, Any], responses: Sequence[str], verdicts: Sequence[Scored],
                   cfg: PairingConfig = PairingConfig()) -> list[dict[str, Any]]:
    """The preference pairs of one prompt (``example``: a task record with ``id``, ``messages`` whose
    last turn is the gold assistant answer, optionally ``family``), in open-instruct's pair format:
    ``prompt`` / ``chosen`` / ``rejected`` plus ``id`` and ``source``."""
    if len(responses) != len(verdicts):
        raise ValueError(f"example {example.get('id')!r}: {len(responses)} responses but {len(verdicts)} verdicts")
    if not responses:
        return []
    rng = prompt_rng(cfg.seed, str(example.get("id", "")))
    ok = [i for i, v in enumerate(verdicts) if v.correct]
    bad = [i for i, v in enumerate(verdicts) if not v.correct]
    if not bad:
        return []
    if ok:
        # highest score first; equal scores in a seeded random order; one sample per distinct text
        order = sorted(ok, key=lambda i: (-float(verdicts[i].score), rng.random()))
        chosen = [(responses[i], float(verdicts[i].score), "policy") for i in _distinct(order, responses)]
    elif cfg.gold_when_all_fail:
        chosen = [(_gold(example), 1.0, "gold")]
    else:
        return []
    rejected_order = _distinct(rng.sample(bad, len(bad)), responses)
    n = min(cfg.pairs_per_prompt, len(rejected_order)) if chosen[0][2] == "gold" else \
        min(cfg.pairs_per_prompt, len(chosen), len(rejected_order))
    prompt = [m for m in example["messages"] if m["role"] != "assistant"] if "messages" in example else []
    if not prompt:
        raise ValueError(f"example {example.get('id')!r}: no prompt turns in 'messages'")
    family = example.get("family", "")
    pairs = []
    for j in range(n):
        text, score, origin = chosen[min(j, len(chosen) - 1)]
        r = rejected_order[j]
        pairs.append({"id": f"{example.get('id', '')}-p{j}", "source": f"onpolicy/{family}" if family else "onpolicy",
                      "family": family, "prompt": prompt,
                      "chosen": [{"role": "assistant", "content": text}],
                      "rejected": [{"role": "assistant", "content": responses[r]}],
                      "chosen_score": score, "rejected_score": float(verdicts[r].score), "chosen_from": origin})
    return pairs


def _distinct(order: Sequence[int], responses: Sequence[str]) -> list[int]:
    seen: set[str] = set()
    out = []
    for i in order:
        if responses[i] not in seen:
            seen.add(responses[i])
            out.append(i)
    return out


def _gold(example: dict[str, Any]) -> str:
    turns = [m["content"] for m in example.get("messages", []) if m["role"] == "assistant"]
    if not turns:
        raise ValueError(f"example {example.get('id')!r}: gold_when_all_fail needs an assistant turn (the gold answer)")
    return turns[-1]
