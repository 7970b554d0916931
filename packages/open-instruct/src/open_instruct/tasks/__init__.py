"""Procedural verifiable tasks: seeded generators of problems with checkable answers.

``generate_examples("arithmetic", "train", 100, seed=0, digits=3)`` -> records; ``build_suite(out,
train_per_family=..., heldout_per_family=..., arithmetic={"digits": 3})`` -> ``train.jsonl`` /
``heldout.jsonl``; ``check_response(example, response)`` -> the ``Verdict`` of the example's verifier.
A record is a chat example (the SFT reader takes it as is) plus ``id``, ``family``, ``generator``,
``seed``, ``difficulty``, ``split``, ``answer`` and ``verifier`` ({name, args}). Families are a
registry (``@register_family``); importing this package registers the built-in ones.
"""

from open_instruct.tasks import families  # noqa: F401  (registers the families)
from open_instruct.tasks.generate import (
    HELDOUT_PERCENT,
    SPLITS,
    check_response,
    generate_examples,
    read_examples,
    split_of,
)
from open_instruct.tasks.registry import FAMILIES, KnobError, Problem, TaskFamily, get_family, register_family
from open_instruct.tasks.suite import build_suite

__all__ = ["FAMILIES", "HELDOUT_PERCENT", "SPLITS", "KnobError", "Problem", "TaskFamily", "build_suite",
           "check_response", "generate_examples", "get_family", "read_examples", "register_family", "split_of"]
