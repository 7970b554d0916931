"""Regular-expression PII detection with the patterns and post-processing of Dolma's ``pii_regex_v1``."""

from __future__ import annotations

import re

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, register_tagger

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
    for key, regex in (("PHONE_NUMBER", PHONE_REGEX), ("IP_ADDRESS", IP_REGEX)):
        spans = []
        for m in regex.finditer(text):
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
