"""Suites on disk: same seed -> same bytes, splits disjoint by construction, records readable by the
SFT reader and by ``read_examples``, each record redrawn exactly from its own seed."""

from __future__ import annotations

import hashlib
import json
import random
import re

import pytest
from oracles import ORACLES

from open_instruct.interfaces import DataFormatError
from open_instruct.tasks import FAMILIES, build_suite, generate_examples, get_family, read_examples


def _canonical(family: str, prompt: str) -> str:
    """The problem a prompt states, normalized independently of the generators' keys (operands of
    + and * in order, a sorting problem as its multiset), to compare splits by content."""
    if family == "arithmetic":
        a, op, b = re.fullmatch(r"What is ([\d ]+) ([-+*]) ([\d ]+)\?", prompt).groups()
        a, b = int(a.replace(" ", "")), int(b.replace(" ", ""))
        return f"{op}{sorted((a, b)) if op in '+*' else (a, b)}"
    if family == "sorting":
        return str(sorted(ORACLES["sorting"](prompt).split()))
    return prompt


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    knobs = {"arithmetic": {"digits": 3}, "sorting": {"length": 4}}
    a = build_suite(tmp_path / "a", train_per_family=40, heldout_per_family=10, seed=5, **knobs)
    b = build_suite(tmp_path / "b", train_per_family=40, heldout_per_family=10, seed=5, **knobs)
    c = build_suite(tmp_path / "c", train_per_family=40, heldout_per_family=10, seed=6, **knobs)
    for split in ("train", "heldout"):
        assert a[split].read_bytes() == b[split].read_bytes()
        assert a[split].read_bytes() != c[split].read_bytes()
    meta = json.loads((tmp_path / "a" / "suite.json").read_text())
    assert meta["sha256"]["train"] == hashlib.sha256(a["train"].read_bytes()).hexdigest()
    assert meta["difficulty"]["arithmetic"] == {"digits": 3, "mul_digits": 1, "ops": "+-*"}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["heldout.jsonl", "suite.json", "train.jsonl"]
    counts = {}
    for ex in read_examples(a["train"]):
        counts[ex["family"]] = counts.get(ex["family"], 0) + 1
    assert counts == {name: 40 for name in FAMILIES}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_splits_are_disjoint_on_large_draws(family):
    # knobs that make the space small enough for collisions to be likely if splits were drawn independently
    knobs = {"arithmetic": {"digits": 2}, "sorting": {"length": 5}, "reversal": {"length": 5, "alphabet": "abcdef"},
             "counting": {"length": 7, "alphabet": "abc"}, "units": {"digits": 2},
             "formatting": {"items": 3, "vocabulary": 12}}[family]
    train = generate_examples(family, "train", 1200, seed=11, **knobs)
    heldout = generate_examples(family, "heldout", 250, seed=12, **knobs)
    for records, split in ((train, "train"), (heldout, "heldout")):
        assert all(r["split"] == split for r in records)
        assert len({r["id"] for r in records}) == len(records)  # distinct within a split
    prompts = {s: {_canonical(family, r["messages"][0]["content"]) for r in recs}
               for s, recs in (("train", train), ("heldout", heldout))}
    assert len(prompts["train"]) == len(train) and len(prompts["heldout"]) == len(heldout)
    assert not prompts["train"] & prompts["heldout"]
    assert not {r["id"] for r in train} & {r["id"] for r in heldout}
    # another seed draws the same problems into the same split: splits belong to problems, not draws
    again = generate_examples(family, "heldout", 250, seed=99, **knobs)
    assert not {_canonical(family, r["messages"][0]["content"]) for r in again} & prompts["train"]
    # a held-out share that is neither tiny nor most of the space: count independent uniform draws
    rng = random.Random(0)
    fam = get_family(family)
    from open_instruct.tasks import split_of

    keys = {fam.sample(random.Random(rng.getrandbits(60)), fam.knobs(**knobs)).key for _ in range(3000)}
    share = sum(split_of(family, k) == "heldout" for k in keys) / len(keys)
    assert 0.12 < share < 0.28


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_record_redraws_from_its_seed(family):
    fam = get_family(family)
    for r in generate_examples(family, "train", 30, seed=4) + generate_examples(family, "heldout", 10, seed=4):
        p = fam.sample(random.Random(r["seed"]), fam.knobs(**r["difficulty"]))
        assert (p.prompt, p.answer) == (r["messages"][0]["content"], r["answer"])
        assert r["generator"] == f"{family}/v{fam.version}"


def test_records_are_read_by_the_sft_reader(tmp_path):
    from open_instruct.data.sources import read_records

    paths = build_suite(tmp_path, train_per_family=15, heldout_per_family=5, seed=1)
    for split, n in (("train", 15), ("heldout", 5)):
        records = [json.loads(line) for line in paths[split].read_text().splitlines()]
        chats = read_records(paths[split], "sft", cache_dir=tmp_path / "ds")
        assert len(chats) == len(records) == n * len(FAMILIES)
        for chat, rec in zip(chats, records):
            assert chat.id == rec["id"]
            assert [(m.role, m.content) for m in chat.messages] == [(m["role"], m["content"]) for m in rec["messages"]]


def test_the_tulu_template_trains_exactly_the_answers(tokenizer):
    from open_instruct.data.template import get_template
    from open_instruct.interfaces import Message

    tpl = get_template("tulu")
    for family in sorted(FAMILIES):
        for r in generate_examples(family, "train", 20, seed=2):
            messages = [Message(**m) for m in r["messages"]]
            enc = tpl.encode(messages, tokenizer)  # raises when the trained tokens are not the answer
            assert len(enc) <= 64  # the demo's data.max_length: nothing is dropped as too long


def test_unknown_names_and_bad_suite_arguments(tmp_path):
    with pytest.raises(KeyError, match="unknown task family 'algebra'; known: arithmetic"):
        generate_examples("algebra", "train", 1, 0)
    with pytest.raises(ValueError, match="unknown split 'test'"):
        generate_examples("sorting", "test", 1, 0)
    with pytest.raises(KeyError, match="difficulty given for 'units'"):
        build_suite(tmp_path, families=["sorting"], train_per_family=1, heldout_per_family=1, units={"digits": 2})
    assert not tmp_path.joinpath("train.jsonl").exists()


def test_read_examples_names_the_bad_line(tmp_path):
    good = json.dumps(generate_examples("sorting", "train", 1, 0)[0])
    path = tmp_path / "x.jsonl"
    path.write_text(good + "\n{not json\n")
    with pytest.raises(DataFormatError, match=r"x.jsonl:line 2"):
        read_examples(path)
    path.write_text(good + "\n" + json.dumps({"messages": []}) + "\n")
    with pytest.raises(DataFormatError, match=r"x.jsonl:line 2, field 'id'"):
        read_examples(path)
