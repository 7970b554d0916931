"""Every family: gold answers equal an independent computation and pass their verifier; perturbed
answers fail it; the difficulty knobs change what they say; bad knobs are refused by name."""

from __future__ import annotations

import json
import re
import string

import pytest
from oracles import BASE, ORACLES, formatting_holds

from open_instruct.tasks import FAMILIES, KnobError, check_response, generate_examples

N = 300  # examples per family and split: every op, unit pair and style many times over


@pytest.mark.parametrize("family", sorted(ORACLES))
def test_gold_answers_match_an_independent_computation(family):
    for split in ("train", "heldout"):
        for ex in generate_examples(family, split, N, seed=7):
            prompt = ex["messages"][0]["content"]
            assert ex["messages"][1]["content"] == ex["answer"] == ORACLES[family](prompt), prompt
            assert ex["verifier"]["args"]["answer"] == ex["answer"]


def test_formatting_gold_answers_do_what_the_prompt_asks():
    for ex in generate_examples("formatting", "train", N, seed=7):
        assert formatting_holds(ex["messages"][0]["content"], ex["answer"]), ex


def _perturbations(ex: dict) -> list[str]:
    """Wrong answers close to the gold one."""
    gold, family = ex["answer"], ex["family"]
    if family == "formatting":
        prompt = ex["messages"][0]["content"]
        words = prompt.split(": ", 1)[1].split(", ")
        wrong = [gold.replace(words[0], "zzz")]  # a required word missing
        if prompt.startswith("List as bullet points"):
            wrong.append("\n".join(gold.splitlines()[:-1]))  # one bullet short (and a word gone)
            wrong.append(gold.replace("* ", "- ", 1).replace("\n", " ", 1) if len(words) > 1 else gold + "\n* zzz")
        elif prompt.startswith("Write in capital letters"):
            wrong.append(gold.lower())
        else:
            wrong.append(gold[:-1])  # unclosed JSON
        return wrong
    if family == "counting":
        return [str(int(gold) + 1), str(abs(int(gold) - 1)) if gold != "1" else "2", ""]
    tokens = gold.split()
    out = []
    last = tokens[-1]
    out.append(" ".join(tokens[:-1] + [str((int(last) + 1) % 10) if last.isdigit() else
                                       ("a" if last != "a" else "b")]))
    out.append(" ".join(tokens[:-1]) if len(tokens) > 1 else gold + " " + gold)
    for i in range(len(tokens) - 1):
        if tokens[i] != tokens[i + 1]:  # two different neighbours swapped
            out.append(" ".join(tokens[:i] + [tokens[i + 1], tokens[i]] + tokens[i + 2:]))
            break
    return out


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_gold_passes_its_verifier_and_perturbed_answers_fail(family):
    for ex in generate_examples(family, "heldout", 150, seed=3):
        verdict = check_response(ex, ex["answer"])
        assert verdict.correct and verdict.score == 1.0, (ex["answer"], verdict)
        # the model's raw text around the answer: surrounding whitespace does not matter
        assert check_response(ex, " " + ex["answer"] + "\n").correct
        for wrong in _perturbations(ex):
            if wrong.strip() == ex["answer"].strip():
                continue
            verdict = check_response(ex, wrong)
            assert not verdict.correct and verdict.score < 1.0, (ex["answer"], wrong, verdict)


def test_verifier_names_follow_the_answer_form():
    # digit strings written apart are compared whole (numeric would read "4 2" as two numbers)
    assert generate_examples("arithmetic", "train", 1, 0)[0]["verifier"]["name"] == "exact"
    assert generate_examples("counting", "train", 1, 0)[0]["verifier"]["name"] == "numeric"
    assert generate_examples("formatting", "train", 1, 0)[0]["verifier"]["name"] == "ifeval"


def _operands(prompt: str) -> tuple[str, str, str]:
    a, op, b = re.fullmatch(r"What is ([\d ]+) ([-+*]) ([\d ]+)\?", prompt).groups()
    return a.replace(" ", ""), op, b.replace(" ", "")


@pytest.mark.parametrize("digits", [1, 3, 5])
def test_arithmetic_digits(digits):
    ops = set()
    for ex in generate_examples("arithmetic", "train", 100, 0, digits=digits, mul_digits=1):
        a, op, b = _operands(ex["messages"][0]["content"])
        ops.add(op)
        if op == "*":
            assert len(a) == digits and len(b) == 1
        else:
            assert len(a) == len(b) == digits
        assert ex["difficulty"] == {"digits": digits, "mul_digits": 1, "ops": "+-*"}
    assert ops == {"+", "-", "*"}
    only_add = generate_examples("arithmetic", "train", 50, 0, ops="+")
    assert {_operands(e["messages"][0]["content"])[1] for e in only_add} == {"+"}
    wide = generate_examples("arithmetic", "train", 50, 0, digits=3, mul_digits=3, ops="*")
    assert all(len(_operands(e["messages"][0]["content"])[2]) == 3 for e in wide)


def test_sorting_length_and_range():
    for ex in generate_examples("sorting", "train", 100, 0, length=9, low=20, high=40):
        values = [int(v) for v in ex["messages"][0]["content"].removeprefix("Sort ascending: ").split()]
        assert len(values) == 9 and all(20 <= v <= 40 for v in values)
    seen = {int(v) for ex in generate_examples("sorting", "train", 10, 0, length=4, low=5, high=7)
            for v in ex["answer"].split()}
    assert seen == {5, 6, 7}


def test_string_length_and_alphabet():
    for ex in generate_examples("reversal", "train", 100, 0, length=11, alphabet="xyz"):
        letters = ex["messages"][0]["content"].removeprefix("Reverse: ").split()
        assert len(letters) == 11 and set(letters) <= set("xyz")
    counts = set()
    for ex in generate_examples("counting", "train", 200, 0, length=6, alphabet="pqr"):
        letters = ex["messages"][0]["content"].split(": ")[1].split()
        assert len(letters) == 6 and set(letters) <= set("pqr")
        counts.add(int(ex["answer"]))
    assert counts == set(range(7))  # every count 0..length is drawn
    capped = {int(e["answer"]) for e in generate_examples("counting", "train", 100, 0, max_count=2)}
    assert capped == {0, 1, 2}


def test_units_groups_and_digits():
    for ex in generate_examples("units", "train", 200, 0, units="time", digits=2):
        m = re.fullmatch(r"Convert ([\d ]+) (\S+) to (\S+)\.", ex["messages"][0]["content"])
        assert {m.group(2), m.group(3)} <= {"week", "day", "h", "min", "s"}
        value = int(m.group(1).replace(" ", ""))
        larger = m.group(2) if BASE[m.group(2)] > BASE[m.group(3)] else m.group(3)
        amount = value if larger == m.group(2) else int(ex["answer"].replace(" ", ""))
        assert 1 <= amount <= 99
    used = {re.fullmatch(r"Convert [\d ]+ (\S+) to \S+\.", e["messages"][0]["content"]).group(1)
            for e in generate_examples("units", "train", 300, 0, units="mass,volume", digits=2)}
    assert used == {"t", "kg", "g", "mg", "kL", "L", "mL"}


def test_formatting_items_vocabulary_styles():
    from open_instruct.tasks.families.formatting import WORDS

    for ex in generate_examples("formatting", "train", 100, 0, items=5, vocabulary=8, styles="json"):
        words = json.loads(ex["answer"])
        assert len(words) == len(set(words)) == 5 and set(words) <= set(WORDS[:8])
        assert ex["messages"][0]["content"].startswith("Write as a JSON list: ")


@pytest.mark.parametrize(("family", "knobs", "named"), [
    ("arithmetic", {"digits": 0}, "digits"),
    ("arithmetic", {"digits": 2, "mul_digits": 3}, "mul_digits"),
    ("arithmetic", {"ops": "+/"}, "ops"),
    ("arithmetic", {"digits": "2"}, "digits"),
    ("arithmetic", {"digits": True}, "digits"),
    ("arithmetic", {"lenght": 3}, "lenght"),
    ("sorting", {"length": 1}, "length"),
    ("sorting", {"low": 9, "high": 3}, "high"),
    ("reversal", {"alphabet": "aA"}, "alphabet"),
    ("reversal", {"alphabet": "a b"}, "alphabet"),
    ("counting", {"alphabet": "a1"}, "alphabet"),
    ("counting", {"max_count": 9}, "max_count"),
    ("units", {"units": "length,furlongs"}, "units"),
    ("formatting", {"styles": "bullets,haiku"}, "styles"),
    ("formatting", {"items": 5, "vocabulary": 4}, "items"),
])
def test_bad_knobs_are_refused_by_name(family, knobs, named):
    with pytest.raises(KnobError, match=f"task family '{family}', knob '{named}'"):
        generate_examples(family, "train", 1, 0, **knobs)


def test_a_too_small_space_names_the_knob_to_raise():
    # one-digit addition has 55 problems: 60 distinct training ones cannot exist
    with pytest.raises(KnobError, match="knob 'digits'.*raise 'digits'"):
        generate_examples("arithmetic", "train", 60, 0, digits=1, ops="+")
    assert len(generate_examples("arithmetic", "train", 20, 0, digits=1, ops="+")) == 20


def test_default_alphabet_is_lowercase_letters():
    assert FAMILIES["reversal"].knobs().alphabet == string.ascii_lowercase
