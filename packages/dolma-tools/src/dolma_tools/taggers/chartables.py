"""Per-code-point lookup tables, so that character classes of a whole text are one NumPy gather."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_CODE_POINTS = 0x110000


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32 (lone surrogates kept, as JSON may carry them)."""
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


@lru_cache(maxsize=1)
def unicode_classes() -> dict[str, np.ndarray]:
    """Boolean tables over every code point: ``space`` (str.isspace, what str.split() splits on),
    ``alpha`` (str.isalpha), ``decimal`` (str.isdecimal, what ``\\d`` matches). Built once per
    process (about a second)."""
    space = np.zeros(N_CODE_POINTS, dtype=bool)
    alpha = np.zeros(N_CODE_POINTS, dtype=bool)
    decimal = np.zeros(N_CODE_POINTS, dtype=bool)
    for c in range(N_CODE_POINTS):
        ch = chr(c)
        if ch.isalpha():
            alpha[c] = True
        elif ch.isdecimal():
            decimal[c] = True
        elif ch.isspace():
            space[c] = True
    return {"space": space, "alpha": alpha, "decimal": decimal}
