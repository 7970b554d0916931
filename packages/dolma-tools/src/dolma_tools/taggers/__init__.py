"""Taggers: attributes for documents, as ``[start, end, score]`` spans (see :mod:`.base`).

The registry (:data:`TAGGERS`) is filled by ``@register_tagger`` when a tagger's module is imported.
Lookups here import the built-in tagger modules on first use, not at import time, so ``--help`` and
code that needs only one tagger module stay fast."""

from __future__ import annotations

import inspect
from typing import Any

from dolma_tools.taggers.base import TAGGERS, Tagger, register_tagger

__all__ = ["TAGGERS", "Tagger", "get_tagger", "list_taggers", "register_tagger"]


def _load_builtin() -> None:
    # Importing the modules runs their decorators (cached by Python after the first call).
    from dolma_tools.taggers import (  # noqa: F401
        c4,
        classifiers,
        code,
        gopher,
        language,
        length,
        pii,
        repetition,
    )


def get_tagger(name: str, **options: Any) -> Tagger:
    """Build a registered tagger; unknown names list the known ones."""
    _load_builtin()
    if name not in TAGGERS:
        raise KeyError(f"unknown tagger {name!r}; known: {', '.join(sorted(TAGGERS))}")
    return TAGGERS[name](**options)


def list_taggers() -> dict[str, str]:
    """name -> docstring, for ``dolma-tools list``."""
    _load_builtin()
    return {name: inspect.cleandoc(cls.__doc__ or "") for name, cls in sorted(TAGGERS.items())}
