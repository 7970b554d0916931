"""Keep/drop expressions over a document's attributes, e.g. ``gopher_v1__word_count < 50``.

A small, safe subset of Python: comparisons (chained too), ``and``/``or``/``not``, arithmetic,
numbers, strings, and the functions below. A bare name is an attribute's document-level value: the
score of its first span, or 0.0 when the document has no such attribute. A name may be written in
full (``<set>__<tagger>__<attribute>``) or without its set (``<tagger>__<attribute>``), so one recipe
works whatever the tagger set was called.

Functions: ``has("name")`` (the attribute is present), ``count("name")`` (its number of spans),
``total("name")`` (sum of scores), ``covered("name")`` (characters covered by its spans),
``min``/``max``/``abs``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
            ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt,
            ast.LtE, ast.Gt, ast.GtE, ast.Name, ast.Load, ast.Constant, ast.Call, ast.IfExp)
_FUNCTIONS = ("has", "count", "total", "covered", "min", "max", "abs")


class ExpressionError(ValueError):
    pass


class AttributeView:
    """One document's attributes, addressable by full or set-less name."""

    def __init__(self, attributes: dict[str, list[list[float]]]) -> None:
        self.full = attributes
        self.short: dict[str, list[list[float]]] = {}
        for key, spans in attributes.items():
            parts = key.split("__", 1)
            if len(parts) == 2:
                self.short.setdefault(parts[1], spans)

    def spans(self, name: str) -> list[list[float]] | None:
        got = self.full.get(name)
        return got if got is not None else self.short.get(name)

    def value(self, name: str) -> float:
        spans = self.spans(name)
        return float(spans[0][2]) if spans else 0.0


class Expression:
    """A compiled expression; ``expr(view) -> bool``."""

    def __init__(self, source: str, name: str = "") -> None:
        self.source, self.name = source, name
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as e:
            raise ExpressionError(f"rule {name!r}: cannot parse {source!r}: {e.msg}") from e
        self.names: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                raise ExpressionError(f"rule {name!r}: {type(node).__name__} is not allowed in {source!r}")
            if isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
                    raise ExpressionError(f"rule {name!r}: only {', '.join(_FUNCTIONS)} may be called")
            elif isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
                self.names.add(node.id)
        self._code = compile(tree, f"<rule {name}>", "eval")

    def __call__(self, view: AttributeView) -> bool:
        env: dict[str, Any] = {n: view.value(n) for n in self.names}
        env.update(_functions(view))
        return bool(eval(self._code, {"__builtins__": {}}, env))  # noqa: S307 - AST whitelisted above


def _functions(view: AttributeView) -> dict[str, Callable[..., Any]]:
    def count(name: str) -> int:
        return len(view.spans(name) or ())

    def total(name: str) -> float:
        return float(sum(s[2] for s in view.spans(name) or ()))

    def covered(name: str) -> int:
        return int(sum(s[1] - s[0] for s in merge_spans(view.spans(name) or [])))

    return {"has": lambda name: view.spans(name) is not None, "count": count, "total": total,
            "covered": covered, "min": min, "max": max, "abs": abs}


def merge_spans(spans: list[list[float]]) -> list[list[float]]:
    """Union of ``[start, end, ...]`` spans, sorted, overlapping or touching ones merged."""
    out: list[list[float]] = []
    for s in sorted(spans, key=lambda x: (x[0], x[1])):
        if out and s[0] <= out[-1][1]:
            out[-1][1] = max(out[-1][1], s[1])
        else:
            out.append([s[0], s[1]])
    return out
