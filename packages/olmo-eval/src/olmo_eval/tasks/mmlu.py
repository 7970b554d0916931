"""MMLU per subject (OLMES v0.1 ``mmlu_std.py``): test split in full, the subject's first five dev
questions as few-shot examples, and the description line
``The following are multiple choice questions (with answers) about {subject}.``
Results are macro-averaged over the 57 subjects as the ``mmlu`` group."""

from __future__ import annotations

from typing import Any

from olmo_eval.tasks.base import Processed, RankedClassificationTask
from olmo_eval.tasks.registry import register_task

SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
    "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine",
    "college_physics", "computer_security", "conceptual_physics", "econometrics", "electrical_engineering",
    "elementary_mathematics", "formal_logic", "global_facts", "high_school_biology",
    "high_school_chemistry", "high_school_computer_science", "high_school_european_history",
    "high_school_geography", "high_school_government_and_politics", "high_school_macroeconomics",
    "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history",
    "high_school_world_history", "human_aging", "human_sexuality", "international_law", "jurisprudence",
    "logical_fallacies", "machine_learning", "management", "marketing", "medical_genetics",
    "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition", "philosophy", "prehistory",
    "professional_accounting", "professional_law", "professional_medicine", "professional_psychology",
    "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology", "world_religions",
)
KEYS = ("A", "B", "C", "D")


class MMLU(RankedClassificationTask):
    def __init__(self, name: str, **config: Any) -> None:
        super().__init__(name, **config)
        self.group = "mmlu:mc" if self.config.formulation == "mc" else "mmlu"

    def _rows(self, role: str) -> list[tuple[int, dict[str, Any]]]:
        from olmo_eval.tasks.data import load_dataset_file

        rows = load_dataset_file("mmlu")[1]
        return [(r["i"], r["doc"]) for r in rows if r["role"] == role and r["doc"]["subject"] == self.config.subject]

    def _eval_docs(self) -> list[tuple[int, dict[str, Any]]]:
        return self._rows("eval")

    def _fewshot_docs(self) -> list[dict[str, Any]]:
        # The dev set in its own order, no sampling, as the original MMLU code does.
        return [d for _, d in self._rows("fewshot")]

    def description(self) -> str:
        subject = " ".join(str(self.config.subject).split("_"))
        return f"The following are multiple choice questions (with answers) about {subject}."

    def _process(self, doc: dict[str, Any]) -> Processed:
        question = "Question: " + doc["question"].strip()
        if self.config.formulation == "mc":
            choices = "".join(f" {k}. {c}\n" for k, c in zip(KEYS, doc["choices"]))
            return Processed(f"{question}\n{choices}Answer:", KEYS[: len(doc["choices"])], doc["answer"])
        return Processed(f"{question}\nAnswer:", tuple(doc["choices"]), doc["answer"])

    def _texts(self, doc: dict[str, Any]) -> list[str]:
        return [doc["question"], *doc["choices"]]


for _subject in SUBJECTS:
    register_task(f"mmlu_{_subject}", dataset="mmlu", subject=_subject, formulation="rc",
                  primary_metric="acc_per_char")(MMLU)
    register_task(f"mmlu_{_subject}:mc", dataset="mmlu", subject=_subject, formulation="mc",
                  primary_metric="acc_raw")(MMLU)
