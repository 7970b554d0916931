"""Natural Questions, open-domain (Kwiatkowski et al., 2019; Lee et al., 2019): short answers, SQuAD metrics."""

from __future__ import annotations

from typing import Any

from olmo_eval.chat import user_prompt
from olmo_eval.metrics.squad import exact_match, extract_short_answer, token_f1
from olmo_eval.requests import GenInstance
from olmo_eval.tasks.generation import GenerationTask
from olmo_eval.tasks.registry import register_task


@register_task("naturalqs_open", folder="naturalqs_open")
class NaturalQuestions(GenerationTask):
    """The first line of the answer; exact match and token F1 under SQuAD normalisation."""

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
