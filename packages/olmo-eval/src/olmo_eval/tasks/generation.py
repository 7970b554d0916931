"""Generation tasks: how each turns a shipped request into a prompt, and a generation into a verdict.

A task gives, per instance and prompt style (``"base"``: the shipped few-shot context; ``"chat"``:
one Tulu user turn for adapted models), a :class:`~olmo_eval.requests.GenerateUntil` request and the
gold ``(context, continuation)`` whose bits per byte are reported; then
``score(instance, generations, style)`` extracts an answer from each generation and returns the
per-instance record; ``aggregate`` averages the records into the task's metrics.

Tasks register with the same ``@register_task`` as the ranked tasks (one family per module:
:mod:`.gsm8k`, :mod:`.minerva_math`, :mod:`.naturalqs`, :mod:`.lambada`, :mod:`.code`); their
``kind = "generation"`` sends them to the generation evaluator of :mod:`olmo_eval.runner`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from olmo_eval.chat import CHAT_STOP_SEQUENCES
from olmo_eval.files import digest
from olmo_eval.metrics.pass_at_k import mean_pass_at_k
from olmo_eval.requests import GENERATION, GenerateUntil, GenInstance
from olmo_eval.tasks.data import load_generation_config, load_generation_requests

STYLES = ("base", "chat")


@dataclass(frozen=True)
class GenerationConfig:
    folder: str
    limit: int | None = None
    #: None: as shipped (e.g. 512 for GSM8K); small values keep CPU smoke runs short
    max_new_tokens: int | None = None
    #: samples per instance; more than one needs temperature > 0 (pass@k)
    num_samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 1234
    pass_at_ks: tuple[int, ...] = (1,)
    version: int = 1
    primary_metric: str = "exact_match"
    extra: dict[str, Any] = field(default_factory=dict)

    # What `olmo-eval list` shows for every task: generation tasks use the shipped prompts, so the
    # shot count is the shipped one (the chat prompts are zero-shot).
    @property
    def formulation(self) -> str:
        return "generate"

    @property
    def uncond_prompt(self) -> None:
        return None

    @property
    def num_shots(self) -> int:
        return int(load_generation_config(self.folder).get("task_config", {}).get("num_shots", 0))


class GenerationTask:
    """Base of the generation tasks; a family sets ``primary_metric`` / ``instance_metrics`` and
    implements ``chat_prompt``, ``extract`` and ``verdict`` (and overrides the ``base_*`` hooks where
    the shipped request needs it)."""

    kind = GENERATION
    group: str | None = None
    primary_metric = "exact_match"
    #: per-instance metrics that ``aggregate`` averages
    instance_metrics: tuple[str, ...] = ("exact_match",)

    def __init__(self, name: str, **config: Any) -> None:
        self.name = name
        config.pop("num_shots", None)  # the shipped prompts fix the shot count
        self.config = GenerationConfig(**{"primary_metric": self.primary_metric, **config})
        self._check()

    def _check(self) -> None:
        if self.config.num_samples > 1 and self.config.temperature <= 0:
            raise ValueError(f"{self.name}: num_samples={self.config.num_samples} needs temperature > 0")

    def with_overrides(self, **overrides: Any) -> GenerationTask:
        new = copy.copy(self)
        overrides.pop("num_shots", None)  # the shipped prompts fix the shot count
        new.config = dataclasses.replace(self.config, **overrides)
        new._check()
        return new

    def config_hash(self) -> str:
        return digest({"name": self.name, "class": type(self).__qualname__,
                       "config": dataclasses.asdict(self.config)})

    # -- data ---------------------------------------------------------------------------------------
    def instances(self) -> list[GenInstance]:
        rows = load_generation_requests(self.config.folder)
        if self.config.limit is not None:
            rows = rows[: self.config.limit]
        return [GenInstance(i, str(r.get("native_id", r.get("doc_id", i))), r["doc"], r["request"])
                for i, r in enumerate(rows)]

    # -- prompts ------------------------------------------------------------------------------------
    def base_stop_sequences(self, inst: GenInstance) -> list[str]:
        return list(inst.request.get("stop_sequences") or [])

    def base_max_new_tokens(self, inst: GenInstance) -> int:
        return int((inst.request.get("generation_kwargs") or {}).get("max_gen_toks", 256))

    def chat_prompt(self, inst: GenInstance) -> str:
        raise NotImplementedError

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return []

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return inst.request["continuation"]

    def prompt(self, inst: GenInstance, style: str) -> str:
        _check_style(style)
        return inst.request["context"] if style == "base" else self.chat_prompt(inst)

    def requests(self, prompt_style: str = "base") -> list[GenerateUntil]:
        """One request per instance, in instance order."""
        return [self.request(inst, prompt_style) for inst in self.instances()]

    def request(self, inst: GenInstance, style: str) -> GenerateUntil:
        _check_style(style)
        if style == "base":
            stops = self.base_stop_sequences(inst)
        else:
            stops = [*self.chat_stop_sequences(inst), *CHAT_STOP_SEQUENCES]
        max_new = self.config.max_new_tokens or self.base_max_new_tokens(inst)
        return GenerateUntil(prompt=self.prompt(inst, style), stop_sequences=tuple(dict.fromkeys(stops)),
                             max_new_tokens=max_new, temperature=self.config.temperature,
                             top_p=self.config.top_p, seed=self.config.seed, instance=inst.index)

    def gold_pair(self, inst: GenInstance, style: str) -> tuple[str, str]:
        """``(context, continuation)`` whose bits per byte are reported."""
        return self.prompt(inst, style), self.gold_continuation(inst, style)

    # -- scoring ------------------------------------------------------------------------------------
    def extract(self, inst: GenInstance, generation: str) -> Any:
        raise NotImplementedError

    def verdict(self, inst: GenInstance, answer: Any) -> dict[str, float]:
        raise NotImplementedError

    def score(self, inst: GenInstance, generations: Sequence[str], style: str,
              sandbox_config: Any = None) -> dict[str, Any]:
        """The instance's record: extracted answers, verdicts and metrics (``sandbox_config`` is
        for the tasks that run code)."""
        answers = [self.extract(inst, g) for g in generations]
        verdicts = [self.verdict(inst, a) for a in answers]
        metrics = {k: float(np.mean([v[k] for v in verdicts])) for k in self.instance_metrics}
        return {"extracted": answers, "verdicts": verdicts, "metrics": metrics}

    def task_metrics(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {key: float(np.mean([r["metrics"][key] for r in records])) if records else 0.0
                for key in self.instance_metrics}

    def aggregate(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The task's metrics from its records, with the mean gold bits per byte and the primary score."""
        out: dict[str, Any] = {"num_instances": len(records), **self.task_metrics(records)}
        bpb = [r["bits_per_byte"] for r in records if r.get("bits_per_byte") is not None]
        if bpb:
            out["bits_per_byte"] = float(np.mean(bpb))
        out["primary_metric"] = self.primary_metric
        out["primary_score"] = out.get(self.primary_metric, 0.0)
        return out


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"prompt style {style!r}: use one of {STYLES}")


class CodeTask(GenerationTask):
    """Programs run in the sandbox; pass@1 (and the unbiased pass@k when ``num_samples >= k``) plus
    the count of each outcome (passed, failed, timed_out, crashed)."""

    primary_metric = "pass@1"
    instance_metrics = ()

    def program(self, inst: GenInstance, completion: str) -> str:
        raise NotImplementedError

    def extract(self, inst: GenInstance, generation: str) -> str:
        return self.program(inst, generation)

    def score(self, inst: GenInstance, generations: Sequence[str], style: str,
              sandbox_config: Any = None) -> dict[str, Any]:
        from olmo_eval.sandbox import run_programs

        programs = [self.program(inst, g) for g in generations]
        results = run_programs(programs, sandbox_config)
        verdicts = [{"outcome": r.outcome.value, "seconds": round(r.seconds, 3),
                     "stderr_tail": r.stderr[-400:]} for r in results]
        passed = sum(r.outcome.value == "passed" for r in results)
        metrics = {"pass@1": passed / len(results), "num_samples": len(results), "num_passed": passed}
        return {"extracted": programs, "verdicts": verdicts, "metrics": metrics}

    def task_metrics(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        samples = [(int(r["metrics"]["num_samples"]), int(r["metrics"]["num_passed"])) for r in records]
        for k in sorted({1, *self.config.pass_at_ks}):
            if samples and all(n >= k for n, _ in samples):
                out[f"pass@{k}"] = mean_pass_at_k(samples, k)
        counts = {"passed": 0, "failed": 0, "timed_out": 0, "crashed": 0}
        for r in records:
            for v in r["verdicts"]:
                counts[v["outcome"]] += 1
        out["outcomes"] = counts
        return out
