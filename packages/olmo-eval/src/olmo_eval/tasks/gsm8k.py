"""GSM8K (Cobbe et al., 2021): grade-school math word problems, exact match of the final number."""

from __future__ import annotations

from typing import Any

from olmo_eval.chat import user_prompt
from olmo_eval.metrics.gsm8k_answer import extract_gsm8k_answer, gsm8k_equivalent
from olmo_eval.requests import GenInstance
from olmo_eval.tasks.generation import GenerationTask
from olmo_eval.tasks.registry import register_task


@register_task("gsm8k", folder="gsm8k")
class GSM8K(GenerationTask):
    """Exact match of the final number; base: the shipped 8-shot chain-of-thought prompt, chat:
    zero-shot, asking for the same closing sentence the few-shot answers end with."""

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
