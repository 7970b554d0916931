"""Expressions, span replacement, sampling and shard sizes on hand-made documents and attributes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dolma_tools.docio import atomic_output, iter_documents, write_documents
from dolma_tools.interfaces import Document
from dolma_tools.mixer.config import MixConfig, SpanReplacementConfig
from dolma_tools.mixer.expressions import AttributeView, Expression, ExpressionError
from dolma_tools.mixer.run import aggregate, copies_for, mix
from dolma_tools.mixer.spans import replace_spans


def test_expressions() -> None:
    view = AttributeView({"exp__lang__en": [[0, 9, 0.7]], "exp__pii__EMAIL": [[0, 2, 1.0], [5, 8, 1.0]]})
    assert Expression("lang__en >= 0.5")(view)                  # set-less name
    assert Expression("exp__lang__en >= 0.5 and not has('x')")(view)
    assert Expression("count('pii__EMAIL') == 2 and covered('pii__EMAIL') == 5")(view)
    assert Expression("missing__attr == 0")(view)              # absent reads as 0
    assert Expression("0.5 < lang__en < 0.8")(view)
    for bad in ("__import__('os')", "lang__en.real > 0", "[x for x in y]", "open('f')"):
        with pytest.raises(ExpressionError):
            Expression(bad, "r")


def test_replace_spans_merges_overlaps() -> None:
    text = "0123456789"
    assert replace_spans(text, [(2, 4, "<A>"), (3, 6, "<B>"), (8, 9, "")]) == ("01<A>67" + "9", 2)
    assert replace_spans(text, []) == (text, 0)


def test_sampling_is_deterministic_and_has_the_right_rate() -> None:
    ids = [f"doc-{i}" for i in range(20000)]
    down = [copies_for(i, "s", 0.3, seed=1) for i in ids]
    assert set(down) == {0, 1} and abs(sum(down) / len(ids) - 0.3) < 0.015  # binomial sd is 0.0032
    assert down == [copies_for(i, "s", 0.3, seed=1) for i in ids]
    assert down != [copies_for(i, "s", 0.3, seed=2) for i in ids]
    up = [copies_for(i, "s", 2.5, seed=0) for i in ids]
    assert set(up) == {2, 3} and abs(sum(up) / len(ids) - 2.5) < 0.015


def _setup(tmp_path: Path) -> MixConfig:
    docs = [Document(id="a", text="mail me at x@y.org now", source="web"),
            Document(id="b", text="short", source="web"),
            Document(id="c", text="keep this line.\ndrop this line\nend.", source="books")]
    attrs = [{"id": "a", "attributes": {"t__pii__EMAIL": [[10, 19, 1.0]], "t__len__n": [[0, 22, 22]]}},
             {"id": "b", "attributes": {"t__len__n": [[0, 5, 5]]}},
             {"id": "c", "attributes": {"t__c4__nopunct": [[16, 31, 1.0]], "t__len__n": [[0, 35, 35]]}}]
    write_documents(tmp_path / "documents" / "f.jsonl", docs)
    (tmp_path / "attributes" / "t").mkdir(parents=True)
    with open(tmp_path / "attributes" / "t" / "f.jsonl", "w") as f:
        f.writelines(json.dumps(a) + "\n" for a in attrs)
    return MixConfig(documents=[str(tmp_path / "documents")], attributes=["t"], destination=str(tmp_path / "out"),
                     exclude={"too_short": "len__n < 10"},
                     span_replacement=[SpanReplacementConfig(attribute="pii__EMAIL", replacement="|||EMAIL_ADDRESS|||",
                                                             name="email"),
                                       SpanReplacementConfig(attribute="c4__nopunct", replacement="")])


def test_mix_filters_and_replaces(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    summary = mix(cfg, processes=1, progress=False)
    assert summary.ok
    out = [d for _, d in iter_documents(tmp_path / "out" / "f-0000.jsonl.zst")]
    assert [(d.id, d.text) for d in out] == [("a", "mail me at|||EMAIL_ADDRESS|||now"),
                                             ("c", "keep this line.\nend.")]
    sources, errors = aggregate(summary)
    assert sources["web"]["removed_by"] == {"too_short": 1} and sources["web"]["kept"] == 1
    assert sources["web"]["replaced"] == {"email": 1} and sources["books"]["replaced"] == {"c4__nopunct": 1}
    assert errors["counts"] == {}


def test_mix_samples_and_shards(tmp_path: Path) -> None:
    docs = [Document(id=f"d{i}", text="x" * 100, source="s") for i in range(300)]
    write_documents(tmp_path / "documents" / "big.jsonl.gz", docs)
    with atomic_output(tmp_path / "attributes" / "t" / "big.jsonl.gz", "w") as f:
        f.writelines(json.dumps({"id": d.id, "attributes": {}}) + "\n" for d in docs)
    cfg = MixConfig(documents=[str(tmp_path / "documents")], attributes=["t"], destination=str(tmp_path / "out"),
                    sample={"s": 2.0}, max_size_bytes=20_000)
    again = MixConfig(documents=[str(tmp_path / "documents")], attributes=["t"], destination=str(tmp_path / "b"),
                      sample={"s": 0.5}, seed=7)
    assert mix(again, processes=1, progress=False).ok
    first = (tmp_path / "b" / "big-0000.jsonl.zst").read_bytes()
    again.destination = str(tmp_path / "c")
    assert mix(again, processes=1, progress=False).ok
    assert (tmp_path / "c" / "big-0000.jsonl.zst").read_bytes() == first  # same seed, same bytes
    assert mix(cfg, processes=1, progress=False).ok
    shards = sorted((tmp_path / "out").glob("big-*.jsonl.zst"))
    lines = [d for s in shards for _, d in iter_documents(s)]
    assert len(lines) == 600 and len({d.id for d in lines}) == 600  # the copies get new ids
    one_line = len(json.dumps(lines[0].to_json()).encode()) + 1
    per_shard = 20_000 // one_line
    assert len(shards) == -(-600 // per_shard)


def test_repeated_paragraphs_removed_after_tagging(tmp_path: Path) -> None:
    from dolma_tools.taggers.run import tag

    text = "Intro line.\n\nSame paragraph here.\n\nMiddle.\n\nSame paragraph here.\n\nEnd."
    write_documents(tmp_path / "documents" / "r.jsonl", [Document(id="r", text=text, source="s")])
    assert tag(str(tmp_path / "documents"), ["repetition_v1"], experiment="rep", processes=1, progress=False).ok
    cfg = MixConfig(documents=[str(tmp_path / "documents")], attributes=["rep"], destination=str(tmp_path / "out"),
                    span_replacement=[SpanReplacementConfig(attribute="repetition_v1__repeated_paragraphs")])
    assert mix(cfg, processes=1, progress=False).ok
    (out,) = [d for _, d in iter_documents(tmp_path / "out" / "r-0000.jsonl.zst")]
    assert out.text == "Intro line.\n\nSame paragraph here.\n\nMiddle.\n\n\n\nEnd."
