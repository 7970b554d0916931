"""LAMBADA (Paperno et al., 2016): the last word of a passage, generated greedily."""

from __future__ import annotations

from typing import Any

from olmo_eval.chat import user_prompt
from olmo_eval.metrics.lambada_answer import extract_first_word, lambada_match
from olmo_eval.requests import GenInstance
from olmo_eval.tasks.generation import GenerationTask
from olmo_eval.tasks.registry import register_task


@register_task("lambada", folder="lambada")
class Lambada(GenerationTask):
    """Greedy last-word prediction: the first word generated must be the passage's last word."""

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
