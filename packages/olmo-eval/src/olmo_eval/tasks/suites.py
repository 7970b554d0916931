"""The named suites."""

from __future__ import annotations

from olmo_eval.tasks.mmlu import SUBJECTS
from olmo_eval.tasks.registry import register_suite

CORE9 = ("arc_easy", "arc_challenge", "boolq", "copa", "hellaswag", "openbookqa", "piqa", "sciq", "winogrande")
GEN6 = ("gsm8k", "minerva_math_500", "codex_humaneval", "codex_mbpp", "naturalqs_open", "lambada")

register_suite("core9", CORE9)
register_suite("core9:mc", [f"{t}:mc" for t in CORE9])
register_suite("mmlu", [f"mmlu_{s}" for s in SUBJECTS])
register_suite("mmlu:mc", [f"mmlu_{s}:mc" for s in SUBJECTS])
register_suite("olmes", ["core9", "mmlu"])
register_suite("gen6", GEN6)
