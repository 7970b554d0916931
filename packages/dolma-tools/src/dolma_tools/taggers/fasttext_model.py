"""Loading fastText models offline, once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

LID_ENV = "DOLMA_TOOLS_LID_MODEL"


def default_lid_model_path() -> Path:
    """``$DOLMA_TOOLS_LID_MODEL`` if set, else the ``lid.176.ftz`` shipped in the package (no hub)."""
    if os.environ.get(LID_ENV):
        return Path(os.environ[LID_ENV])
    return Path(str(resources.files("dolma_tools.data.models").joinpath("lid.176.ftz")))


@lru_cache(maxsize=8)
def load_fasttext(path: str) -> Any:
    import fasttext

    if not Path(path).is_file():
        raise FileNotFoundError(f"fastText model not found: {path}")
    fasttext.FastText.eprint = lambda *_a, **_k: None  # silence the load_model deprecation banner
    return fasttext.load_model(path)


def normalize(text: str) -> str:
    """fastText reads one line: lower-cased with newlines as spaces, as Dolma feeds it."""
    return text.lower().replace("\n", " ").strip()


def predict_all(model: Any, text: str, k: int = -1) -> dict[str, float]:
    from dolma_tools.taggers.base import utf8_safe

    labels, probs = model.predict(utf8_safe(normalize(text)), k=k)  # C++ needs valid UTF-8
    return {label.removeprefix("__label__"): float(p) for label, p in zip(labels, probs, strict=True)}
