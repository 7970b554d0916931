"""MATH-500 (Hendrycks et al., 2021; the 500-problem subset of Lightman et al., 2023), scored as Minerva does."""

from __future__ import annotations

from typing import Any

from olmo_eval.chat import user_prompt
from olmo_eval.metrics.math_answer import extract_math_answer, math_equivalent
from olmo_eval.requests import GenInstance
from olmo_eval.tasks.generation import GenerationTask
from olmo_eval.tasks.registry import register_task


@register_task("minerva_math_500", folder="minerva_math_500")
class MATH500(GenerationTask):
    """The last ``\\boxed{}`` (or Minerva's "Final Answer" line), Minerva-normalised, against the
    shipped ``answer``."""

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
