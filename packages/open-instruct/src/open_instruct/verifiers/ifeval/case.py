"""Case constraints: all lowercase, all capitals, a number of words in capitals.

IFEval also requires the lowercase / capital responses to be English (langdetect); these checkers judge the
case only: language detection needs a statistical model that open-instruct does not ship.
"""

from __future__ import annotations

import re

from open_instruct.verifiers.ifeval.registry import compare, register_constraint

# A word as a tokenizer sees it: letters and digits, hyphens and apostrophes inside it (a hyphenated word is one)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


@register_constraint("change_case:english_lowercase")
def english_lowercase(response: str) -> bool:
    """At least one cased character and no uppercase one."""
    return response.islower()


@register_constraint("change_case:english_capital")
def english_capital(response: str) -> bool:
    """At least one cased character and no lowercase one."""
    return response.isupper()


@register_constraint("change_case:capital_word_frequency")
def capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    """Words written all in capitals (a one-letter ``I`` or ``A`` included) appear ``capital_relation
    capital_frequency`` times."""
    capitals = sum(1 for w in _WORD.findall(response) if w.isupper())
    return compare(capitals, capital_relation, capital_frequency)
