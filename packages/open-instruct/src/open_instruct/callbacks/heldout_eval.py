"""``heldout_verified``: verified accuracy on held-out task examples during training, as a callback.

Configured by name in a trainer config::

    trainer.callbacks.heldout_verified={path: heldout.jsonl, limit: 200, every: 50, max_new_tokens: 32}

Every ``every`` steps and at the last step (``every: 0``: the last step only) it answers the first
``limit`` examples of ``path`` (``0``: all) greedily and judges them with their verifiers
(``open_instruct.evaluate_verified``); it logs ``heldout/accuracy`` and ``heldout/<family>/accuracy``
into that step's metrics (so ``metrics.jsonl`` and the other loggers get them) and writes
``<run_dir>/heldout/step<N>.jsonl`` (one row per example: id, family, correct 0/1, response; atomically),
so two runs' files pair example by example for a McNemar test. Its state (the last evaluated step and
its result) is saved in checkpoints: a resumed run does not evaluate a step twice, and a run resumed
at its end reports the result it had."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from olmo_core.fileio import write_atomic
from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback
from open_instruct.evaluate_verified import accuracy_by_family, greedy_responses, judge
from open_instruct.tokenizer import load_tokenizer


def heldout_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """The metric names an :func:`accuracy_by_family` result is logged under."""
    out = {"heldout/accuracy": float(result["accuracy"])}
    for family, r in result["families"].items():
        out[f"heldout/{family}/accuracy"] = float(r["accuracy"])
    return out


@register_callback("heldout_verified")
class HeldoutVerified(TrainerCallback):
    """``path``: a task JSONL (``open_instruct.tasks`` records); ``limit``: its first examples (0: all);
    ``every``: steps between evaluations (0: only the last step); ``max_new_tokens``, ``batch_size``:
    generation; ``tokenizer``: a ``tokenizer.json`` (default: OLMo's, as the trainers')."""

    def __init__(self, path: str, limit: int = 0, every: int = 0, max_new_tokens: int = 32, batch_size: int = 32,
                 tokenizer: str | None = None) -> None:
        from open_instruct.tasks import read_examples

        if not Path(path).is_file():
            raise ValueError(f"path={path}: no such held-out task file")
        if limit < 0 or every < 0 or max_new_tokens <= 0 or batch_size <= 0:
            raise ValueError(f"limit={limit}, every={every} must be >= 0; max_new_tokens={max_new_tokens}, "
                             f"batch_size={batch_size} must be > 0")
        examples = read_examples(path)
        self.examples = examples[:limit] if limit else examples
        if not self.examples:
            raise ValueError(f"path={path}: no examples")
        self.every, self.max_new_tokens, self.batch_size = every, max_new_tokens, batch_size
        self.tokenizer = load_tokenizer(tokenizer)
        self.last_step = -1
        self.result: dict[str, Any] | None = None

    def evaluate(self, state: TrainerState) -> dict[str, Any]:
        """Answer, judge, write ``heldout/step<N>.jsonl`` (rank 0) and remember the result."""
        responses = greedy_responses(state.model, self.tokenizer, self.examples, max_new_tokens=self.max_new_tokens,
                                     batch_size=self.batch_size)
        correct = judge(self.examples, responses)
        result = {"step": state.step, **accuracy_by_family(self.examples, correct)}
        if state.is_main_process:
            rows = [{"id": ex["id"], "family": ex["family"], "correct": int(ok), "response": r}
                    for ex, ok, r in zip(self.examples, correct, responses)]
            write_atomic(Path(state.run_dir) / "heldout" / f"step{state.step}.jsonl",
                         "".join(json.dumps(row) + "\n" for row in rows))
        self.last_step, self.result = state.step, result
        return result

    def _due(self, state: TrainerState) -> bool:
        max_steps = getattr(getattr(state, "cfg", None), "max_steps", None)
        return (self.every > 0 and state.step % self.every == 0) or state.step == max_steps

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if self._due(state) and self.last_step != state.step:
            state.log(heldout_metrics(self.evaluate(state)))

    def on_train_end(self, state: TrainerState) -> None:
        # The last step was evaluated in on_step_end (or, for a run resumed at its end, before the kill).
        if self.last_step != state.step:
            self.evaluate(state)
        if state.is_main_process and self.result is not None:
            fams = ", ".join(f"{f} {r['accuracy']:.3f}" for f, r in self.result["families"].items())
            print(f"held-out verified accuracy at step {self.result['step']} ({self.result['examples']} examples): "
                  f"{self.result['accuracy']:.3f} ({fams})", flush=True)

    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self.last_step, "result": self.result}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_step = int(state.get("last_step", -1))
        self.result = state.get("result")
