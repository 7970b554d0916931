"""The OLMES v0.1 ranked-classification tasks (ARC, BoolQ, HellaSwag, OpenBookQA, PIQA) plus COPA and
SciQ, each in its cloze (``rc``) and lettered multiple-choice (``mc``) formulation.

Prompts follow ``olmo_eval/tasks/olmes_v0_1/*_std.py`` in allenai/OLMo-Eval character for character;
COPA and SciQ follow the Eleuther v0.3 tasks OLMES adapted (oe_eval ``copa.py``, ``sciq.py``).
"""

from __future__ import annotations

import re
from typing import Any

from olmo_eval.tasks.base import Processed, RankedClassificationTask, letters_for
from olmo_eval.tasks.prompts import LETTERS, cloze_prompt, mc_prompt
from olmo_eval.tasks.registry import register_task

_NUM_TO_LETTER = {"1": "A", "2": "B", "3": "C", "4": "D", "5": "E"}


def _rc_mc(name: str, dataset: str, rc_primary: str, uncond: str | None = "Answer:") -> Any:
    """Register a class under ``name`` (cloze) and ``name:mc`` (lettered, primary acc_raw, no PMI)."""

    def deco(cls: type[RankedClassificationTask]) -> type[RankedClassificationTask]:
        register_task(name, dataset=dataset, formulation="rc", primary_metric=rc_primary,
                      uncond_prompt=uncond)(cls)
        register_task(f"{name}:mc", dataset=dataset, formulation="mc", primary_metric="acc_raw",
                      uncond_prompt=None)(cls)
        return cls

    return deco


def _mc(cls_self: RankedClassificationTask) -> bool:
    return cls_self.config.formulation == "mc"


@_rc_mc("arc_easy", "arc_easy", "acc_per_char")
class ARC(RankedClassificationTask):
    def _process(self, doc: dict[str, Any]) -> Processed:
        key = _NUM_TO_LETTER.get(doc["answerKey"], doc["answerKey"])
        gold = list(LETTERS).index(key)
        texts = doc["choices"]["text"]
        if _mc(self):
            return Processed(mc_prompt(doc["question"], texts), letters_for(texts), gold, doc.get("id", ""))
        return Processed(cloze_prompt(doc["question"]), tuple(texts), gold, doc.get("id", ""))

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["question"], *doc["choices"]["text"]]


_rc_mc("arc_challenge", "arc_challenge", "acc_uncond")(type("ARCChallenge", (ARC,), {}))


@_rc_mc("boolq", "boolq", "acc_raw")
class BoolQ(RankedClassificationTask):
    def _process(self, doc: dict[str, Any]) -> Processed:
        # OLMES's examples carry super_glue's `label` (1 = true); the shipped split carries `answer`.
        label = int(doc["label"]) if "label" in doc else int(bool(doc["answer"]))
        prefix = f"{doc['passage']}\nQuestion: "
        if _mc(self):
            query = mc_prompt(doc["question"] + "?", ["yes", "no"], question_prefix=prefix)
            return Processed(query, ("A", "B"), 1 - label)
        return Processed(cloze_prompt(doc["question"] + "?", question_prefix=prefix), ("yes", "no"), 1 - label)

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["passage"], doc["question"]]


@_rc_mc("hellaswag", "hellaswag", "acc_per_char")
class HellaSwag(RankedClassificationTask):
    @staticmethod
    def preprocess(text: str) -> str:
        text = text.strip()
        # WikiHow artefacts; OLMES fixes the double full stop the Eleuther version made of ". [title]".
        text = re.sub("\\.? \\[title\\]", ". ", text)
        text = re.sub("\\[.*?\\]", "", text)
        return text.replace("  ", " ")

    def _process(self, doc: dict[str, Any]) -> Processed:
        gold = int(doc["label"]) if doc["label"] != "" else -1
        if _mc(self):
            query = mc_prompt(f"{doc['activity_label']}: {doc['ctx_a']} {doc['ctx_b'].capitalize()}",
                              doc["endings"], question_prefix="",
                              choices_prefix="Choose the best continuation:\n")
            return Processed(self.preprocess(query), letters_for(doc["endings"]), gold)
        ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        return Processed(self.preprocess(doc["activity_label"] + ": " + ctx),
                         tuple(self.preprocess(e) for e in doc["endings"]), gold)

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [self.preprocess(doc["ctx_a"] + " " + doc["ctx_b"]), *map(self.preprocess, doc["endings"])]


@_rc_mc("openbookqa", "openbookqa", "acc_uncond")
class OpenBookQA(RankedClassificationTask):
    def _process(self, doc: dict[str, Any]) -> Processed:
        gold = ["A", "B", "C", "D"].index(doc["answerKey"].strip())
        texts = doc["choices"]["text"]
        if _mc(self):
            return Processed(mc_prompt(doc["question_stem"], texts), letters_for(texts), gold, doc.get("id", ""))
        return Processed(cloze_prompt(doc["question_stem"]), tuple(texts), gold, doc.get("id", ""))

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["question_stem"], *doc["choices"]["text"]]


@_rc_mc("piqa", "piqa", "acc_per_char")
class PIQA(RankedClassificationTask):
    def _process(self, doc: dict[str, Any]) -> Processed:
        choices = [doc["sol1"], doc["sol2"]]
        if _mc(self):
            return Processed(mc_prompt(doc["goal"], choices, question_prefix="Goal: "), ("A", "B"), doc["label"])
        return Processed(cloze_prompt(doc["goal"], question_prefix="Goal: "), tuple(choices), doc["label"])

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["goal"], doc["sol1"], doc["sol2"]]


class _HeldOutFewshot(RankedClassificationTask):
    """OLMES curates no examples for these; they come from a fixed draw held out of the shipped split."""

    def _fewshot_docs(self) -> list[dict[str, Any]]:
        from olmo_eval.tasks.data import heldout_fewshot_docs

        return heldout_fewshot_docs(self.config.dataset)


@_rc_mc("copa", "copa", "acc_raw")
class COPA(_HeldOutFewshot):
    @staticmethod
    def convert_choice(choice: str) -> str:
        return choice[0].lower() + choice[1:]

    def _process(self, doc: dict[str, Any]) -> Processed:
        choices = [doc["choice1"], doc["choice2"]]
        if _mc(self):
            # OLMES defines no lettered COPA; this one states the question the connector implies.
            query = mc_prompt(f"{doc['premise']} What was the {doc['question']}?", choices)
            return Processed(query, ("A", "B"), doc["label"], str(doc.get("idx", "")))
        connector = {"cause": "because", "effect": "therefore"}[doc["question"]]
        query = doc["premise"].strip()[:-1] + f" {connector}"  # drop the full stop, join with the connector
        return Processed(query, tuple(self.convert_choice(c) for c in choices), doc["label"],
                         str(doc.get("idx", "")))

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["premise"], doc["choice1"], doc["choice2"]]


@_rc_mc("sciq", "sciq", "acc_raw")
class SciQ(_HeldOutFewshot):
    def _process(self, doc: dict[str, Any]) -> Processed:
        choices = [doc["distractor1"], doc["distractor2"], doc["distractor3"], doc["correct_answer"]]
        if _mc(self):
            query = mc_prompt(doc["question"], choices, question_prefix=f"{doc['support']}\nQuestion: ").strip()
            return Processed(query, letters_for(choices), 3)
        return Processed(f"{doc['support']}\nQuestion: {doc['question']}\nAnswer:".strip(), tuple(choices), 3)

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["support"], doc["question"]]
