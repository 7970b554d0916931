"""The reward both sides of ``grpo_step.py`` score completions with (standard library only: it runs in
TRL's pinned environment too, loaded by path).

A GSM8K-style numeric check (1.0 when the last number of the completion equals the answer, commas
stripped) plus partial credit of half the fraction of the completion's characters that are digits.
The partial credit is there because the benchmark's model is untrained: with the bare check every
completion scores 0, every group's rewards are equal, every advantage is 0 and an update would do
nothing a trainer could not skip. With it, rewards spread within each group and both trainers take
real gradient steps.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def score(completion: str, answer: str) -> float:
    numbers = NUMBER.findall(completion)
    correct = False
    if numbers:
        try:
            correct = abs(float(numbers[-1].replace(",", "")) - float(str(answer).replace(",", ""))) <= 1e-6
        except ValueError:
            correct = False
    digits = sum(ch.isdigit() for ch in completion) / max(len(completion), 1)
    return float(correct) + 0.5 * digits
