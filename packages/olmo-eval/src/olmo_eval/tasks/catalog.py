"""Imports every task module so their decorators fill the registry, and defines the suites."""

from __future__ import annotations

from olmo_eval.tasks import mmlu, olmes, winogrande  # noqa: F401
from olmo_eval.tasks.registry import register_suite

CORE9 = ("arc_easy", "arc_challenge", "boolq", "copa", "hellaswag", "openbookqa", "piqa", "sciq", "winogrande")

register_suite("core9", CORE9)
register_suite("core9:mc", [f"{t}:mc" for t in CORE9])
register_suite("mmlu", [f"mmlu_{s}" for s in mmlu.SUBJECTS])
register_suite("mmlu:mc", [f"mmlu_{s}:mc" for s in mmlu.SUBJECTS])
register_suite("olmes", ["core9", "mmlu"])

# generation tasks (gsm8k, minerva_math_500, codex_*, naturalqs_open, lambada), the gen6 suite, their evaluator
from olmo_eval.generation import registration  # noqa: E402, F401
