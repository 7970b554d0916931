"""WinoGrande, OLMES v0.1 (``winogrande_std.py``): partial evaluation (Trinh & Le, 2018).

Cloze: each option is substituted for the blank and everything after it is the one shared
continuation, so the options sit in the contexts and the score compares ``P(rest | prefix with
option)``. Lettered: ``Fill in the blank: ... ___ ...`` with `` A. option1`` / `` B. option2``.
"""

from __future__ import annotations

from typing import Any

from olmo_eval.tasks.base import Processed, RankedClassificationTask
from olmo_eval.tasks.prompts import mc_prompt
from olmo_eval.tasks.registry import register_task


@register_task("winogrande", dataset="winogrande", formulation="rc", primary_metric="acc_raw")
@register_task("winogrande:mc", dataset="winogrande", formulation="mc", primary_metric="acc_raw")
class WinoGrande(RankedClassificationTask):
    @staticmethod
    def partial_context(doc: dict[str, Any], option: str) -> str:
        return doc["sentence"][: doc["sentence"].index("_")] + option

    @staticmethod
    def partial_target(doc: dict[str, Any]) -> str:
        return " " + doc["sentence"][doc["sentence"].index("_") + 1 :].strip()

    def _process(self, doc: dict[str, Any]) -> Processed:
        options = [doc["option1"], doc["option2"]]
        gold = int(doc["answer"]) - 1 if doc["answer"] != "" else -1
        if self.config.formulation == "mc":
            query = mc_prompt(doc["sentence"].replace("_", "___"), options, question_prefix="Fill in the blank: ")
            return Processed(query, ("A", "B"), gold)
        contexts = tuple(self.partial_context(doc, o) for o in options)
        return Processed(contexts[gold], tuple(options), gold, contexts=contexts, target=self.partial_target(doc))

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["sentence"]]
