"""Regular-expression PII detection with the patterns and post-processing of Dolma's ``pii_regex_v1``."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, register_tagger
from dolma_tools.taggers.chartables import N_CODE_POINTS, code_points, unicode_classes

EMAIL_REGEX = re.compile(r"[.\s@,?!;:)(]*([^\s@]+@[^\s@,?!;:)(]+?)[.\s@,?!;:)(]?[\s\n\r]")
PHONE_REGEX = re.compile(r"\s+\(?(\d{3})\)?[-\. ]*(\d{3})[-. ]?(\d{4})")
IP_REGEX = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)")
_DIGIT = re.compile(r"\d")
_EMAIL_LEAD = frozenset(".@,?!;:)(")
WINDOW = 100


def iter_email_matches(text: str):  # noqa: ANN201
    """Exactly ``EMAIL_REGEX.finditer(text)``, but the regex only runs around each "@".

    The pattern starts with ``[.\\s@,?!;:)(]*``, so plain ``finditer`` tries a match at nearly every
    position of the text. A match holding the "@" at ``a`` can start no earlier than the start of
    the whitespace-free run around ``a`` extended back over those leading characters, and ends at
    most two characters after the whitespace-free run reached from ``a`` over them; searching that
    window from the earliest possible start finds the same leftmost match (checked against
    ``finditer`` on the corpus and on random strings of the pattern's characters)."""
    n = len(text)
    pos = 0
    a = text.find("@")
    while a >= 0:
        start = a
        while start > pos and not text[start - 1].isspace():
            start -= 1
        while start > pos and (text[start - 1].isspace() or text[start - 1] in _EMAIL_LEAD):
            start -= 1
        # the leading run may go on past "@" through whitespace and those characters: the match
        # then ends in the next whitespace-free run
        end = a
        while end < n and (text[end].isspace() or text[end] in _EMAIL_LEAD):
            end += 1
        while end < n and not text[end].isspace():
            end += 1
        m = EMAIL_REGEX.search(text, start, min(n, end + 2))
        if m is None:
            a = text.find("@", a + 1)
            continue
        yield m
        pos = m.end()
        a = text.find("@", pos)


@lru_cache(maxsize=1)
def _char_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per code point: can PHONE_REGEX match it (whitespace, any decimal digit, "()-.")? Is it a
    decimal digit (``\\d``)? Can IP_REGEX match it (ASCII digit or ".")? Is it "."?"""
    classes = unicode_classes()
    decimal = classes["decimal"]
    phone = classes["space"] | decimal
    phone[[ord(c) for c in "()-."]] = True
    ip = np.zeros(N_CODE_POINTS, dtype=bool)
    ip[[ord(c) for c in "0123456789."]] = True
    dot = np.zeros(N_CODE_POINTS, dtype=bool)
    dot[ord(".")] = True
    return phone, decimal, ip, dot


def _runs(mask: np.ndarray, needed: np.ndarray, min_needed: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the runs of True in ``mask`` holding at least ``min_needed`` positions
    where ``needed`` is True (digits: a phone number has ten)."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    if not len(edges):
        return []
    starts, ends = edges[::2], edges[1::2]
    cum = np.concatenate(([0], np.cumsum(needed)))
    keep = cum[ends] - cum[starts] >= min_needed
    return list(zip(starts[keep].tolist(), ends[keep].tolist(), strict=True))


def iter_in_runs(regex: re.Pattern[str], text: str, runs: list[tuple[int, int]]):  # noqa: ANN201
    """``regex.finditer(text)`` restricted to ``runs``: exact when every character the pattern can
    match lies inside a run, because no match can then cross a run's edge."""
    for start, end in runs:
        yield from regex.finditer(text, start, end)


def find_pii(text: str, window: int = WINDOW) -> dict[str, list[list[float]]]:
    """``{"EMAIL_ADDRESS"|"PHONE_NUMBER"|"IP_ADDRESS": [[start, end, 1.0], ...]}`` (see PiiRegexV1)."""
    out: dict[str, list[list[float]]] = {}
    if "@" in text:
        emails = []
        for m in iter_email_matches(text):
            parts = m.group(0).split("@")
            if parts[0].strip() != "(" and "." in parts[1]:
                emails.append([m.start(), m.end(), 1.0])
        if emails:
            out["EMAIL_ADDRESS"] = emails
    if _DIGIT.search(text) is None:
        return out
    # Phone numbers and IP addresses are made of few kinds of characters: the regexes only run
    # over the stretches of those that hold ten digits (a phone number) or three dots (an IP).
    phone_ok, decimal, ip_ok, dot = _char_tables()
    codes = code_points(text)
    ip_runs = [r for r in _runs(ip_ok[codes], dot[codes], 3) if r[1] - r[0] >= 7]
    for key, regex, runs in (("PHONE_NUMBER", PHONE_REGEX, _runs(phone_ok[codes], decimal[codes], 10)),
                             ("IP_ADDRESS", IP_REGEX, ip_runs)):
        spans = []
        for m in iter_in_runs(regex, text, runs):
            s, e = m.span()
            context = text[max(0, s - window): e + window]
            if "isbn" in context or "doi" in context or "#" in context:
                continue
            spans.append([s, e, 1.0])
        if spans:
            out[key] = spans
    return out


@register_tagger("pii_regex_v1")
class PiiRegexV1(Tagger):
    """E-mail addresses, phone numbers and IPv4 addresses found by Dolma's regular expressions.

    Spans ``EMAIL_ADDRESS`` (the match includes the surrounding punctuation or whitespace, as in
    Dolma; kept only if the part before "@" is not "(" and the domain has a "."),
    ``PHONE_NUMBER`` (whitespace, then 3-3-4 digits with optional separators) and ``IP_ADDRESS``
    (dotted quad, each part <= 255); phone and IP matches are dropped when the 100 characters around
    them contain "isbn", "doi" or "#". Document span ``doc``: PII spans / whitespace words (0 for
    a document without words). The masking replacements are the mixer's job (the recipe writes
    ``|||EMAIL_ADDRESS|||``, ``|||PHONE_NUMBER|||``, ``|||IP_ADDRESS|||``)."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window

    def predict(self, doc: Document) -> Spans:
        out = find_pii(doc.text, self.window)
        n_spans = sum(len(v) for v in out.values())
        n_words = len(doc.text.split()) if n_spans else 1
        out["doc"] = [[0, len(doc.text), n_spans / n_words if n_words else 0.0]]
        return out
