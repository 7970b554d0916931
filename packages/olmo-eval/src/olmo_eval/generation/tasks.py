"""The generation tasks: how each turns a shipped request into a prompt, and a generation into a
verdict.

A task gives, per instance and prompt style (``"base"``: the shipped few-shot context; ``"chat"``:
one Tulu user turn for adapted models), a :class:`~olmo_eval.generation.requests.GenerateUntil`
request and the gold ``(context, continuation)`` whose bits per byte are reported; then
``score(instance, generations, style)`` extracts an answer from each generation and returns the
per-instance record; ``aggregate`` averages the records into the task's metrics.

Tasks register with :func:`register_generation_task`; :data:`GENERATION_TASKS` maps name to class.
Each has ``kind = "generation"`` so that the task registry of :mod:`olmo_eval.tasks` can hold them
beside the ranked-classification tasks.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from olmo_eval.generation.chat import CHAT_STOP_SEQUENCES, user_prompt
from olmo_eval.generation.data import load_requests
from olmo_eval.generation.metrics.gsm8k_answer import extract_gsm8k_answer, gsm8k_equivalent
from olmo_eval.generation.metrics.lambada_answer import extract_first_word, lambada_match
from olmo_eval.generation.metrics.math_answer import extract_math_answer, math_equivalent
from olmo_eval.generation.metrics.pass_at_k import mean_pass_at_k
from olmo_eval.generation.metrics.squad import exact_match, extract_short_answer, token_f1
from olmo_eval.generation.requests import GenerateUntil

GENERATION = "generation"
STYLES = ("base", "chat")
T = TypeVar("T")

#: name -> task class
GENERATION_TASKS: dict[str, type[GenerationTask]] = {}


def register_generation_task(name: str) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        if name in GENERATION_TASKS:
            raise ValueError(f"generation task {name!r} is registered twice")
        GENERATION_TASKS[name] = cls  # type: ignore[assignment]
        return cls

    return deco


def get_generation_task(name: str, **overrides: Any) -> GenerationTask:
    if name not in GENERATION_TASKS:
        raise KeyError(f"unknown generation task {name!r}; known: {', '.join(GENERATION_TASKS)}")
    return GENERATION_TASKS[name](name=name, **overrides)


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
        from olmo_eval.generation.data import load_config

        return int(load_config(self.folder).get("task_config", {}).get("num_shots", 0))


@dataclass(frozen=True)
class GenInstance:
    index: int
    id: str
    doc: dict[str, Any]
    request: dict[str, Any]


class GenerationTask:
    kind = GENERATION
    defaults: dict[str, Any] = {}
    primary_metric = "exact_match"
    #: per-instance metrics that ``aggregate`` averages
    instance_metrics: tuple[str, ...] = ("exact_match",)

    def __init__(self, name: str, **config: Any) -> None:
        self.name = name
        config.pop("num_shots", None)  # the shipped prompts fix the shot count
        self.config = GenerationConfig(**{**self.defaults, "primary_metric": self.primary_metric, **config})
        if self.config.num_samples > 1 and self.config.temperature <= 0:
            raise ValueError(f"{name}: num_samples={self.config.num_samples} needs temperature > 0")

    def with_overrides(self, **overrides: Any) -> GenerationTask:
        new = copy.copy(self)
        overrides.pop("num_shots", None)  # the shipped prompts fix the shot count
        new.config = dataclasses.replace(self.config, **overrides)
        return new

    def config_hash(self) -> str:
        blob = json.dumps({"name": self.name, "class": type(self).__qualname__,
                           "config": dataclasses.asdict(self.config)}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    # -- data ---------------------------------------------------------------------------------------
    def instances(self) -> list[GenInstance]:
        rows = load_requests(self.config.folder)
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

    def request(self, inst: GenInstance, style: str) -> GenerateUntil:
        _check_style(style)
        if style == "base":
            stops = self.base_stop_sequences(inst)
        else:
            stops = [*self.chat_stop_sequences(inst), *CHAT_STOP_SEQUENCES]
        max_new = self.config.max_new_tokens or self.base_max_new_tokens(inst)
        return GenerateUntil(prompt=self.prompt(inst, style), stop_sequences=tuple(dict.fromkeys(stops)),
                             max_new_tokens=max_new, temperature=self.config.temperature,
                             top_p=self.config.top_p, seed=self.config.seed)

    def gold_pair(self, inst: GenInstance, style: str) -> tuple[str, str]:
        """``(context, continuation)`` whose bits per byte are reported."""
        return self.prompt(inst, style), self.gold_continuation(inst, style)

    # -- scoring ------------------------------------------------------------------------------------
    def extract(self, inst: GenInstance, generation: str) -> Any:
        raise NotImplementedError

    def verdict(self, inst: GenInstance, answer: Any) -> dict[str, float]:
        raise NotImplementedError

    def score(self, inst: GenInstance, generations: Sequence[str], style: str) -> dict[str, Any]:
        answers = [self.extract(inst, g) for g in generations]
        verdicts = [self.verdict(inst, a) for a in answers]
        metrics = {k: float(np.mean([v[k] for v in verdicts])) for k in self.instance_metrics}
        return {"extracted": answers, "verdicts": verdicts, "metrics": metrics}

    def aggregate(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"num_instances": len(records)}
        for key in self.instance_metrics:
            out[key] = float(np.mean([r["metrics"][key] for r in records])) if records else 0.0
        bpb = [r["bits_per_byte"] for r in records if r.get("bits_per_byte") is not None]
        if bpb:
            out["bits_per_byte"] = float(np.mean(bpb))
        out["primary_metric"] = self.primary_metric
        out["primary_score"] = out.get(self.primary_metric, 0.0)
        return out


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"prompt style {style!r}: use one of {STYLES}")


@register_generation_task("gsm8k")
class GSM8K(GenerationTask):
    """Exact match of the final number; base: the shipped 8-shot chain-of-thought prompt, chat:
    zero-shot, asking for the same closing sentence the few-shot answers end with."""

    defaults = {"folder": "gsm8k"}

    def chat_prompt(self, inst: GenInstance) -> str:
        return user_prompt("Solve the following math word problem step by step. End your answer with "
                           "\"So the answer is N.\" where N is the final number.\n\n"
                           f"Question: {inst.doc['question']}")

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return inst.request["continuation"] if style == "base" else inst.doc["choices"][0]

    def extract(self, inst: GenInstance, generation: str) -> str | None:
        return extract_gsm8k_answer(generation)

    def verdict(self, inst: GenInstance, answer: Any) -> dict[str, float]:
        return {"exact_match": float(gsm8k_equivalent(answer, str(inst.doc["short_answer"])))}


@register_generation_task("minerva_math_500")
class MATH500(GenerationTask):
    """The last ``\\boxed{}`` (or Minerva's "Final Answer" line), Minerva-normalised, against the
    shipped ``answer``."""

    defaults = {"folder": "minerva_math_500"}

    def base_stop_sequences(self, inst: GenInstance) -> list[str]:
        # The shipped "\n\n" would cut most worked solutions after their first paragraph; the
        # Minerva few-shot answers close with "I hope it is correct." before the next "Problem:".
        return ["Problem:", "I hope it is correct."]

    def chat_prompt(self, inst: GenInstance) -> str:
        return user_prompt("Solve the following math problem step by step. Put the final answer in "
                           f"\\boxed{{}}.\n\nProblem:\n{inst.doc['problem']}")

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return inst.request["continuation"] if style == "base" else inst.doc["solution"]

    def extract(self, inst: GenInstance, generation: str) -> str | None:
        return extract_math_answer(generation)

    def verdict(self, inst: GenInstance, answer: Any) -> dict[str, float]:
        return {"exact_match": float(math_equivalent(answer, inst.doc["answer"]))}


@register_generation_task("naturalqs_open")
class NaturalQuestions(GenerationTask):
    """The first line of the answer; exact match and token F1 under SQuAD normalisation."""

    defaults = {"folder": "naturalqs_open"}
    primary_metric = "f1"
    instance_metrics = ("exact_match", "f1")

    def chat_prompt(self, inst: GenInstance) -> str:
        return user_prompt("Answer the following question with a short answer of a few words.\n\n"
                           f"Question: {inst.doc['question']}", assistant_prefix="Answer:")

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["\n"]

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return " " + inst.doc["answers"][0] if style == "chat" else inst.request["continuation"]

    def extract(self, inst: GenInstance, generation: str) -> str:
        return extract_short_answer(generation)

    def verdict(self, inst: GenInstance, answer: Any) -> dict[str, float]:
        golds = list(inst.doc["answers"])
        return {"exact_match": exact_match(answer, golds), "f1": token_f1(answer, golds)}


@register_generation_task("lambada")
class Lambada(GenerationTask):
    """Greedy last-word prediction: the first word generated must be the passage's last word."""

    defaults = {"folder": "lambada"}
    primary_metric = "accuracy"
    instance_metrics = ("accuracy",)

    def base_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["\n"]

    def base_max_new_tokens(self, inst: GenInstance) -> int:
        # the longest gold word is 6 tokens in OLMo's tokenizer; a few more let punctuation follow
        return 10

    def chat_prompt(self, inst: GenInstance) -> str:
        return user_prompt("Continue the following passage with its next word.\n\n" + inst.doc["query"],
                           assistant_prefix="Next word:")

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["\n"]

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return " " + inst.doc["answers_text"][0] if style == "chat" else inst.request["continuation"]

    def extract(self, inst: GenInstance, generation: str) -> str:
        return extract_first_word(generation)

    def verdict(self, inst: GenInstance, answer: Any) -> dict[str, float]:
        return {"accuracy": float(lambada_match(answer, inst.doc["answers_text"][0]))}


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
        from olmo_eval.generation.sandbox import run_programs

        programs = [self.program(inst, g) for g in generations]
        results = run_programs(programs, sandbox_config)
        verdicts = [{"outcome": r.outcome.value, "seconds": round(r.seconds, 3),
                     "stderr_tail": r.stderr[-400:]} for r in results]
        passed = sum(r.outcome.value == "passed" for r in results)
        metrics = {"pass@1": passed / len(results), "num_samples": len(results), "num_passed": passed}
        return {"extracted": programs, "verdicts": verdicts, "metrics": metrics}

    def aggregate(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"num_instances": len(records)}
        samples = [(int(r["metrics"]["num_samples"]), int(r["metrics"]["num_passed"])) for r in records]
        for k in sorted({1, *self.config.pass_at_ks}):
            if samples and all(n >= k for n, _ in samples):
                out[f"pass@{k}"] = mean_pass_at_k(samples, k)
        counts = {"passed": 0, "failed": 0, "timed_out": 0, "crashed": 0}
        for r in records:
            for v in r["verdicts"]:
                counts[v["outcome"]] += 1
        out["outcomes"] = counts
        bpb = [r["bits_per_byte"] for r in records if r.get("bits_per_byte") is not None]
        if bpb:
            out["bits_per_byte"] = float(np.mean(bpb))
        out["primary_metric"] = self.primary_metric
        out["primary_score"] = out.get("pass@1", 0.0)
        return out


_IMPORT = re.compile(r"^(?:import|from)\s+\S+", re.M)


@register_generation_task("codex_humaneval")
class HumanEval(CodeTask):
    """The model completes the function body after the shipped prompt; a completion that restates
    the whole function (chat models often do) replaces the prompt but keeps its imports."""

    defaults = {"folder": "codex_humaneval"}

    def chat_prompt(self, inst: GenInstance) -> str:
        return user_prompt("Complete the following python function.\n\n\n" + inst.doc["prompt"],
                           assistant_prefix="Here is the completed function:\n\n\n```python\n"
                           + inst.doc["prompt"])

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["\n```", "\nclass", "\nif __name__", "\nprint("]

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return inst.doc["canonical_solution"]

    def program(self, inst: GenInstance, completion: str) -> str:
        prompt, entry = inst.doc["prompt"], inst.doc["entry_point"]
        if re.search(rf"^def\s+{re.escape(entry)}\s*\(", completion, re.M):
            imports = "\n".join(m.group(0) for m in re.finditer(r"^(?:import|from)\s.*$", prompt, re.M))
            body = imports + "\n\n" + completion
        else:
            body = prompt + completion
        return f"{body}\n\n{inst.doc['test']}\n\ncheck({entry})\n"


@register_generation_task("codex_mbpp")
class MBPP(CodeTask):
    """The shipped 3-shot prompt ends in an open code fence; the program is the generated code up to
    the closing fence, then the problem's setup code and its ``assert`` lines."""

    defaults = {"folder": "codex_mbpp"}

    def base_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["```", '\n"""', "\nassert"]

    def chat_prompt(self, inst: GenInstance) -> str:
        tests = "\n".join(inst.doc["test_list"])
        return user_prompt(f"{inst.doc['text']}\nYour code should pass these tests:\n\n{tests}",
                           assistant_prefix="Here is the completed function:\n\n```python\n")

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["```"]

    def program(self, inst: GenInstance, completion: str) -> str:
        code = completion.split("```")[0]
        setup = inst.doc.get("test_setup_code") or ""
        tests = "\n".join(inst.doc["test_list"])
        return f"{code}\n\n{setup}\n{tests}\n"


GEN6 = ("gsm8k", "minerva_math_500", "codex_humaneval", "codex_mbpp", "naturalqs_open", "lambada")
