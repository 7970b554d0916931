"""Surface forms the tiny demo model can learn.

The OLMo tokenizer (GPT-NeoX BPE) gives whole numbers one token each (``427``, ``12345``, ``3000``
are single tokens) and merges letters (``olleh`` -> ``ol|le|h``): a 2-layer model would have to
memorise a token per number and could not compute digit by digit. Written apart, every digit and
every letter is its own token (``4 2 7`` -> ``4| 2| 7``), so adding, sorting, reversing and counting
become operations on a short sequence of ten (or 26) symbols. Prompts and gold answers use these
forms; answers that are digit strings are therefore checked with the ``exact`` verifier (whose
whitespace normalisation makes ``4 2 7`` and ``4  2 7`` the same), not ``numeric``, which would read
``4 2 7`` as three numbers.
"""

from __future__ import annotations


def spaced(text: str | int) -> str:
    """``427`` -> ``4 2 7``; ``"hello"`` -> ``h e l l o``."""
    return " ".join(str(text))


def unspaced(text: str) -> str:
    return "".join(text.split())
