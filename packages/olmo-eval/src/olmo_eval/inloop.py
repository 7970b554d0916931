"""The in-loop evaluator: a trainer callback that runs the offline scoring path every N steps.

It meets ``olmo_core.interfaces.Callback`` structurally (olmo-eval does not import olmo-core). Tasks
are compiled and tokenized once; every evaluation goes through :func:`evaluate_compiled` and
:func:`evaluate_perplexity`, the same functions ``olmo-eval run`` / ``olmo-eval perplexity`` use, so the
numbers match the offline ones. All ranks run the same forwards (sharded models need every rank in
each forward); only the main process logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from olmo_eval.perplexity import evaluate_perplexity, load_documents, tokenize_documents
from olmo_eval.ranked import TaskResult, evaluate_compiled, group_metrics, tokenize_tasks
from olmo_eval.requests import RANKED_CLASSIFICATION, CompiledTask, compile_task, load_compiled
from olmo_eval.tasks import expand, get_task
from olmo_eval.tokenizer import as_tokenizer


class _Unwrapped:
    """A wrapped module (DDP's ``.module``) called as itself but with the inner model's attributes."""

    def __init__(self, outer: Any, inner: Any) -> None:
        self.outer, self.vocab_size = outer, int(inner.vocab_size)
        self.max_sequence_length, self.eos_token_id = int(inner.max_sequence_length), int(inner.eos_token_id)

    def parameters(self) -> Any:
        return self.outer.parameters()

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.outer(input_ids)


def as_language_model(model: Any) -> Any:
    if hasattr(model, "vocab_size"):
        return model
    inner = getattr(model, "module", None)
    if inner is not None and hasattr(inner, "vocab_size"):
        return _Unwrapped(model, inner)
    raise TypeError(f"{type(model).__name__} has no vocab_size/max_sequence_length/eos_token_id")


class InLoopEvaluator:
    """Evaluate ``tasks`` (names, suites, or request files) and perplexity every ``every_n_steps``.

    Logged keys: ``{prefix}/{task}/{metric}``, ``{prefix}/{group}/{metric}`` (macro, e.g. MMLU) and
    ``{prefix}/ppl/{source}/{subdomain}/{ppl|bits_per_byte}`` plus ``{prefix}/ppl/overall/...``.
    """

    def __init__(self, tokenizer: Any, tasks: str | Sequence[str] | None = "core9", *, every_n_steps: int = 1000,
                 request_files: Sequence[str | Path] = (), num_shots: int | None = None, limit: int | None = None,
                 perplexity_dir: str | Path | None = None, max_docs_per_subdomain: int | None = None,
                 token_budget: int | None = None, eval_at_start: bool = False, prefix: str = "eval") -> None:
        if every_n_steps < 1:
            raise ValueError("every_n_steps must be >= 1")
        self.tokenizer = as_tokenizer(tokenizer)
        self.every_n_steps, self.token_budget, self.prefix = every_n_steps, token_budget, prefix
        self.eval_at_start = eval_at_start
        overrides: dict[str, Any] = {}
        if num_shots is not None:
            overrides["num_shots"] = num_shots
        if limit is not None:
            overrides["limit"] = limit
        names = expand(tasks) if tasks else []
        self.tasks: list[CompiledTask] = [compile_task(get_task(n, **overrides)) for n in names]
        self.tasks += [load_compiled(p) for p in request_files]
        for t in self.tasks:
            if t.kind != RANKED_CLASSIFICATION:  # generating every few steps would stall training
                raise ValueError(f"{t.name}: a {t.kind} task; the in-loop evaluator scores "
                                 f"{RANKED_CLASSIFICATION} tasks (run generation offline: olmo-eval run)")
        self.ppl_docs = (load_documents(perplexity_dir, max_docs_per_subdomain=max_docs_per_subdomain)
                         if perplexity_dir is not None else [])
        self._tok_tasks: Any = None
        self._tok_docs: Any = None
        self.last_eval_step = -1
        self.history: list[dict[str, Any]] = []
        self.last_results: dict[str, TaskResult] = {}
        self.last_perplexity: dict[str, Any] | None = None

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(self, model: Any) -> dict[str, float]:
        lm = as_language_model(model)
        module = model if isinstance(model, torch.nn.Module) else None
        was_training = module.training if module is not None else False
        if module is not None:
            module.eval()
        try:
            if self._tok_tasks is None:
                self._tok_tasks = tokenize_tasks(self.tokenizer, self.tasks, lm.eos_token_id)
            flat: dict[str, float] = {}
            if self.tasks:
                self.last_results = evaluate_compiled(lm, self.tokenizer, self.tasks, token_budget=self.token_budget,
                                                      tokenized=self._tok_tasks)
                for name, r in self.last_results.items():
                    for k, v in r.metrics.items():
                        flat[f"{self.prefix}/{name}/{k}"] = float(v)
                    flat[f"{self.prefix}/{name}/primary"] = r.primary
                for g, m in group_metrics(self.last_results).items():
                    for k, v in m.items():
                        if isinstance(v, (int, float)):
                            flat[f"{self.prefix}/{g}/{k}"] = float(v)
            if self.ppl_docs:
                if self._tok_docs is None:
                    self._tok_docs = tokenize_documents(self.tokenizer, self.ppl_docs, lm.max_sequence_length,
                                                        lm.eos_token_id)
                self.last_perplexity = evaluate_perplexity(lm, self.tokenizer, self.ppl_docs,
                                                           token_budget=self.token_budget, tokenized=self._tok_docs)
                for sub, m in self.last_perplexity["subdomains"].items():
                    flat[f"{self.prefix}/ppl/{sub}/ppl"] = m["ppl"]
                    flat[f"{self.prefix}/ppl/{sub}/bits_per_byte"] = m["bits_per_byte"]
                for k, v in self.last_perplexity["overall"].items():
                    flat[f"{self.prefix}/ppl/overall/{k}"] = float(v)
            return flat
        finally:
            if module is not None:
                module.train(was_training)

    def _run(self, state: Any) -> None:
        metrics = self.evaluate(state.model)
        self.last_eval_step = int(state.step)
        self.history.append({"step": int(state.step),
                             **{k: v for k, v in metrics.items() if k.endswith("/primary") or "/overall/" in k}})
        if getattr(state, "is_main_process", True):
            state.log(metrics)

    # -- Callback protocol ------------------------------------------------------------------------
    def on_train_start(self, state: Any) -> None:
        # Only before the first step: a resumed run restored its history, in which the checkpoint's step
        # was evaluated exactly when it was due; evaluating it again would add a point that an
        # uninterrupted run's history lacks.
        if self.eval_at_start and int(state.step) == 0 and self.last_eval_step != 0:
            self._run(state)

    def on_step_end(self, state: Any, metrics: Mapping[str, float]) -> None:
        if int(state.step) % self.every_n_steps == 0 and self.last_eval_step != int(state.step):
            self._run(state)

    def on_checkpoint(self, state: Any, path: Path) -> None:
        return None

    def on_train_end(self, state: Any) -> None:
        if self.last_eval_step != int(state.step):
            self._run(state)

    def state_dict(self) -> dict[str, Any]:
        return {"last_eval_step": self.last_eval_step, "history": list(self.history),
                "task_hashes": {t.name: t.config_hash for t in self.tasks}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_eval_step = int(state.get("last_eval_step", -1))
        self.history = list(state.get("history", []))
