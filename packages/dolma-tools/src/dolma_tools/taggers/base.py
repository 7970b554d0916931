"""The tagger registry. A tagger reads one document and returns its attributes as spans.

A tagger is a class registered by name with :func:`register_tagger` in the module that defines it;
this module never imports those modules (lookups in :mod:`dolma_tools.taggers` load the built-in
ones when first needed), so the registry and the taggers do not import each other. The docstring
says exactly what it computes and with which defaults (``dolma-tools list`` prints it). ``predict(doc)`` returns
``{attribute: [[start, end, score], ...]}``; the runner prefixes each attribute with
``<tagger_set>__<tagger>__`` as Dolma does. Taggers are built once per worker process, so loading a
model in ``__init__`` is paid once per process, not per document.
"""

from __future__ import annotations

from collections.abc import Callable

from dolma_tools.interfaces import Document

Spans = dict[str, list[list[float]]]


class Tagger:
    """Base class: subclasses implement :meth:`predict`. Keyword options come from the config."""

    name: str = ""

    def predict(self, doc: Document) -> Spans:
        raise NotImplementedError


TAGGERS: dict[str, type[Tagger]] = {}


def register_tagger(name: str) -> Callable[[type[Tagger]], type[Tagger]]:
    """Class decorator: ``@register_tagger("gopher_v1")``. Names are unique."""

    def wrap(cls: type[Tagger]) -> type[Tagger]:
        if name in TAGGERS and TAGGERS[name] is not cls:
            raise ValueError(f"tagger {name!r} is already registered by {TAGGERS[name].__qualname__}")
        if not (cls.__doc__ or "").strip():
            raise ValueError(f"tagger {name!r} needs a docstring saying what it computes")
        cls.name = name
        TAGGERS[name] = cls
        return cls

    return wrap


def doc_span(doc: Document, score: float) -> list[float]:
    """One span over the whole document: how document-level values are written."""
    return [0, len(doc.text), score]


def utf8_safe(text: str) -> str:
    """``text`` with lone surrogates (JSON may carry them) replaced by "?", one code point for one,
    so offsets stay valid; for libraries that must encode to UTF-8 (blingfire, fastText)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace").decode("utf-8")
