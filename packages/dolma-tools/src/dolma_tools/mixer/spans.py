"""Replacing spans of text (PII masks, removed lines)."""

from __future__ import annotations


def replace_spans(text: str, spans: list[tuple[int, int, str]]) -> tuple[str, int]:
    """Replace each ``(start, end, replacement)``; overlapping spans are merged into one and take
    the replacement of the one starting first. Returns the new text and the number of replacements."""
    if not spans:
        return text, 0
    merged: list[list] = []
    for s, e, rep in sorted(spans, key=lambda x: (x[0], -x[1])):
        s, e = max(0, int(s)), min(len(text), int(e))
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e, rep])
    parts: list[str] = []
    pos = 0
    for s, e, rep in merged:
        parts.append(text[pos:s])
        parts.append(rep)
        pos = e
    parts.append(text[pos:])
    return "".join(parts), len(merged)
