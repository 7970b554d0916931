"""The hook for evaluators: any ``evaluate(model) -> {name: value}`` run every n steps, its results
logged with the step. (Objects meeting :class:`olmo_core.interfaces.Callback`, such as olmo-eval's
in-loop evaluator, can also be passed to the trainer directly.)

A config names an evaluate function by a name registered with :func:`register_evaluate` (by this
package or an installed plug-in), never by a dotted path: a config, or a checkpoint's copy of one,
cannot make the trainer import a module."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback

#: name -> evaluate function, filled by :func:`register_evaluate` (plug-ins register theirs on import)
EVALUATES: dict[str, Callable[[torch.nn.Module], Mapping[str, float]]] = {}


def register_evaluate(name: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        EVALUATES[name] = fn
        return fn
    return register


@register_callback("evaluator")
class EvaluatorCallback(TrainerCallback):
    def __init__(self, evaluate: Callable[[torch.nn.Module], Mapping[str, float]] | str | None = None,
                 every: int = 100, prefix: str = "eval/", at_end: bool = True) -> None:
        if isinstance(evaluate, str):
            evaluate = _registered(evaluate)
        self.evaluate, self.every, self.prefix, self.at_end = evaluate, max(every, 1), prefix, at_end
        self.last_step = -1

    def _run(self, state: TrainerState) -> dict[str, float]:
        if self.evaluate is None:
            return {}
        model = state.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                results = dict(self.evaluate(model))
        finally:
            model.train(was_training)
        self.last_step = state.step
        return {f"{self.prefix}{k}": float(v) for k, v in results.items()}

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if state.step % self.every == 0:
            state.log(self._run(state))

    def on_train_end(self, state: TrainerState) -> None:
        if self.at_end and self.last_step != state.step:
            results = self._run(state)
            if results and state.is_main_process:
                print("final evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in results.items()), flush=True)


def _registered(name: str) -> Callable[[torch.nn.Module], Mapping[str, float]]:
    from olmo_core.plugins import lookup

    try:
        return lookup(EVALUATES, name)
    except KeyError:
        raise ValueError(f"trainer.callbacks.evaluator.evaluate={name!r}: not a registered evaluate function "
                         f"({sorted(EVALUATES)}); a plug-in registers one with @register_evaluate(name)") from None
