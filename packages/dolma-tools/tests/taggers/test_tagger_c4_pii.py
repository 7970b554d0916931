"""C4 line rules and regex PII on hand-built documents with offsets counted by hand."""

from __future__ import annotations

import re

from dolma_tools.interfaces import Document
from dolma_tools.taggers import get_tagger

C4_TEXT = "Hello world.\nno punct here\nJavaScript is required\n{ x }\nlorem ipsum dolor sit."


def test_c4_lines_and_flags() -> None:
    assert len(C4_TEXT) == 78  # 13 + 14 + 23 + 6 + 22
    out = get_tagger("c4_v1").predict(Document(id="d", text=C4_TEXT))
    assert out["lines_with_no_ending_punctuation"] == [[13, 27, 1.0], [27, 50, 1.0], [50, 56, 1.0]]
    assert out["lines_with_too_few_words"] == [[0, 13, 1.0]]
    assert out["lines_with_javascript"] == [[27, 50, 1.0]]
    for flag in ("has_javascript", "has_lorem_ipsum", "has_curly_brace"):
        assert out[flag] == [[0, 78, 1.0]]
    assert "has_naughty_word" not in out
    assert out["line_count"] == [[0, 78, 5]]


def test_c4_policy_lines() -> None:
    text = "Read our Privacy Policy now.\nA normal sentence here."
    out = get_tagger("c4_v1").predict(Document(id="d", text=text))
    assert out["lines_with_policy"] == [[0, 29, 1.0]]


def test_pii_email_phone_ip() -> None:
    text = "Contact: john.doe@example.com or call 555 123 4567 from 192.168.0.1 today"
    out = get_tagger("pii_regex_v1").predict(Document(id="d", text=text))
    # the e-mail match takes the ": " before it and the space after it, as Dolma's pattern does
    assert out["EMAIL_ADDRESS"] == [[7, 30, 1.0]] and text[9:29] == "john.doe@example.com"
    assert out["PHONE_NUMBER"] == [[37, 50, 1.0]] and text[38:50] == "555 123 4567"
    assert out["IP_ADDRESS"] == [[56, 67, 1.0]] and text[56:67] == "192.168.0.1"
    assert out["doc"] == [[0, len(text), 3 / 10]]  # 3 spans, 10 whitespace words


def test_pii_postprocessing_drops_false_positives() -> None:
    # "#" near a number: not a phone; a domain without a dot: not an e-mail
    text = "Issue #12: call 555 123 4567 or write to root@localhost now"
    out = get_tagger("pii_regex_v1").predict(Document(id="d", text=text))
    assert "PHONE_NUMBER" not in out and "EMAIL_ADDRESS" not in out
    assert out["doc"][0][2] == 0


def test_pii_on_manpages_finds_author_addresses(corpus_docs) -> None:  # noqa: ANN001
    tagger = get_tagger("pii_regex_v1")
    docs = corpus_docs("manpages", 120)
    found = 0
    for d in docs:
        spans = tagger.predict(d).get("EMAIL_ADDRESS", [])
        for s, e, _ in spans:
            assert "@" in d.text[s:e]
        found += len(spans)
    # independent count: whitespace tokens "user@host.tld", brackets and final punctuation aside
    expected = sum(1 for d in docs for tok in d.text.split()
                   if re.fullmatch(r"[(<\[\u27e8]?[^@\s]+@[\w\u2010-]+(\.[\w\u2010-]+)+[>)\]\u27e9]?[.,;:]?", tok))
    assert found > 50 and abs(found - expected) <= max(3, expected // 20)


def test_windowed_email_search_equals_plain_finditer(corpus_docs) -> None:  # noqa: ANN001
    import random

    from dolma_tools.taggers.pii import EMAIL_REGEX, iter_email_matches

    rng = random.Random(0)
    alphabet = " \n.@,?!;:)(ab1-x"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(20000)]
    texts += [d.text for d in corpus_docs("manpages", 60) + corpus_docs("kernel_docs", 30)]
    for t in texts:
        assert [m.span() for m in iter_email_matches(t)] == [m.span() for m in EMAIL_REGEX.finditer(t)], t


def test_phone_and_ip_search_in_runs_equals_plain_finditer(corpus_docs) -> None:  # noqa: ANN001
    import random

    import numpy as np

    from dolma_tools.taggers.pii import IP_REGEX, PHONE_REGEX, _char_tables, _runs, iter_in_runs

    phone_ok, decimal, ip_ok, dot = _char_tables()
    rng = random.Random(0)
    alphabet = " \n\t\u00a0\u3000()-.0123456789\uff11\u0663ab"  # Unicode spaces and digits too
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50))) for _ in range(20000)]
    texts += [d.text for d in corpus_docs("kernel_docs", 40) + corpus_docs("code", 20)]
    for t in texts:
        codes = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32)
        for regex, ok, needed, n in ((PHONE_REGEX, phone_ok, decimal, 10), (IP_REGEX, ip_ok, dot, 3)):
            got = [m.span() for m in iter_in_runs(regex, t, _runs(ok[codes], needed[codes], n))]
            assert got == [m.span() for m in regex.finditer(t)], t
