"""Formatting constraints in the IFEval style: ``List as bullet points: cat, sun, box`` ->
``* cat\\n* sun\\n* box``, checked by the ``ifeval`` verifier against the constraints the prompt
states (IFEval's instruction ids and keyword arguments), so a response earns partial credit per
constraint met."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from open_instruct.tasks.registry import KnobError, Problem, TaskFamily, int_range, register_family

#: short common nouns, each a single token of the OLMo tokenizer (in lower case, after a space)
WORDS = ("cat", "dog", "sun", "car", "tree", "book", "fish", "bird", "milk", "rain", "door", "hat",
         "cup", "bed", "box", "key", "map", "pen", "egg", "ice", "sea", "sky", "bus", "cow", "fox",
         "pig", "bag", "ball", "boat", "cake", "coat", "desk", "drum", "farm", "film", "fire")


@dataclass(frozen=True)
class Style:
    instruction: str
    render: Callable[[list[str]], str]
    constraints: Callable[[list[str]], list[dict[str, Any]]]


STYLES: dict[str, Style] = {
    "bullets": Style(
        "List as bullet points",
        lambda w: "\n".join(f"* {x}" for x in w),
        lambda w: [{"type": "detectable_format:number_bullet_lists", "num_bullets": len(w)}]),
    "capital": Style(
        "Write in capital letters",
        lambda w: ", ".join(w).upper(),
        lambda w: [{"type": "change_case:english_capital"}]),
    "json": Style(
        "Write as a JSON list",
        lambda w: json.dumps(w),
        lambda w: [{"type": "detectable_format:json_format"}]),
}


@register_family("formatting")
class Formatting(TaskFamily):
    """``items`` words drawn without repeats from the first ``vocabulary`` of ``WORDS``, to be written
    in one of ``styles`` (comma-separated keys of ``STYLES``). Every example also requires each given
    word to appear (``keywords:existence``)."""

    verifier = "ifeval"
    grows_with = "vocabulary"

    @dataclass(frozen=True)
    class Knobs:
        # calibrated: tiny SFT, 600 steps: 41% held-out with two words of 30 (three of 24, 300 steps: 8%)
        items: int = 2
        vocabulary: int = 30
        styles: str = "bullets,capital,json"

    def check(self, knobs: Knobs) -> None:
        int_range(self.name, "vocabulary", knobs.vocabulary, 2, len(WORDS))
        int_range(self.name, "items", knobs.items, 1, knobs.vocabulary)
        styles = knobs.styles.split(",")
        if not knobs.styles or set(styles) - set(STYLES) or len(set(styles)) != len(styles):
            raise KnobError(self.name, "styles", f"must be distinct comma-separated styles of "
                            f"{', '.join(STYLES)}, got {knobs.styles!r}")

    def sample(self, rng: random.Random, knobs: Knobs) -> Problem:
        name = rng.choice(knobs.styles.split(","))
        words = rng.sample(WORDS[:knobs.vocabulary], knobs.items)
        style = STYLES[name]
        constraints = style.constraints(words) + [{"type": "keywords:existence", "keywords": words}]
        return Problem(f"{name}:{','.join(words)}", f"{style.instruction}: {', '.join(words)}",
                       style.render(words), self.verifier, {"constraints": constraints})
