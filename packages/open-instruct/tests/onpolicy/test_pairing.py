"""Pairing verified against failed samples, on hand-made verdicts (Tulu 3's binarization: one pair per
prompt, chosen = a verified sample, rejected = a randomly drawn failed one, ties dropped)."""

from __future__ import annotations

from collections import Counter

import pytest

from open_instruct.interfaces import PreferencePair
from open_instruct.onpolicy.pairing import PairingConfig, outcome, pair_responses
from open_instruct.verifiers import Verdict

OK, BAD = Verdict(True, 1.0), Verdict(False, 0.0)


def _example(i: int = 0) -> dict:
    return {"id": f"arith-{i:04d}", "family": "arithmetic",
            "messages": [{"role": "user", "content": "What is 12 + 30?"}, {"role": "assistant", "content": "42"}]}


def test_one_pair_per_mixed_prompt_verified_against_failed() -> None:
    responses = ["41", "42", "43", "The answer is 42"]
    pairs = pair_responses(_example(), responses, [BAD, OK, BAD, OK])
    assert len(pairs) == 1
    p = pairs[0]
    assert p["chosen"][0]["content"] in {"42", "The answer is 42"}
    assert p["rejected"][0]["content"] in {"41", "43"}
    assert p["prompt"] == [{"role": "user", "content": "What is 12 + 30?"}]
    assert (p["id"], p["source"], p["chosen_from"]) == ("arith-0000-p0", "onpolicy/arithmetic", "policy")
    # open-instruct's own pair reader accepts it
    pair = PreferencePair.from_json(p, where="test")
    assert pair.chosen[0].role == "assistant" and pair.prompt[0].content.startswith("What is")


def test_ties_give_no_pair_unless_gold_is_allowed() -> None:
    assert pair_responses(_example(), ["42", "42.0"], [OK, OK]) == []
    assert pair_responses(_example(), ["1", "2"], [BAD, BAD]) == []
    gold = pair_responses(_example(), ["1", "2"], [BAD, BAD], PairingConfig(gold_when_all_fail=True))
    assert len(gold) == 1 and gold[0]["chosen"][0]["content"] == "42" and gold[0]["chosen_from"] == "gold"
    assert gold[0]["rejected"][0]["content"] in {"1", "2"}
    assert [outcome(v) for v in ([OK, OK], [BAD, BAD], [OK, BAD])] == ["all_correct", "all_failed", "mixed"]


def test_highest_score_is_chosen_and_partial_credit_is_still_rejected() -> None:
    # a multi-constraint verifier: correct only when every constraint holds; partial scores stay failures
    verdicts = [Verdict(False, 0.67), Verdict(True, 1.0), Verdict(False, 0.33)]
    pairs = pair_responses(_example(), ["a", "b", "c"], verdicts)
    assert pairs[0]["chosen"][0]["content"] == "b" and pairs[0]["chosen_score"] == 1.0
    assert pairs[0]["rejected_score"] in (0.67, 0.33)
    odd = [Verdict(True, 0.5), Verdict(True, 0.9), Verdict(False, 0.0)]  # a scorer that grades verified ones too
    assert pair_responses(_example(), ["x", "y", "z"], odd)[0]["chosen"][0]["content"] == "y"


def test_rejected_is_drawn_uniformly_and_reproducibly_per_prompt() -> None:
    responses, verdicts = ["42", "1", "2", "3"], [OK, BAD, BAD, BAD]
    drawn = Counter(pair_responses(_example(i), responses, verdicts)[0]["rejected"][0]["content"] for i in range(600))
    assert set(drawn) == {"1", "2", "3"}
    assert all(150 <= c <= 250 for c in drawn.values()), drawn  # 200 each expected; 5 sigma is ~58
    # the same seed and prompt give the same pair whatever else is in the set; another seed may not
    again = [pair_responses(_example(i), responses, verdicts) for i in range(600)]
    assert Counter(p[0]["rejected"][0]["content"] for p in again) == drawn
    other = [pair_responses(_example(i), responses, verdicts, PairingConfig(seed=1))[0]["rejected"][0]["content"]
             for i in range(600)]
    assert other != [pair_responses(_example(i), responses, verdicts)[0]["rejected"][0]["content"] for i in range(600)]


def test_more_pairs_per_prompt_use_distinct_texts() -> None:
    responses = ["42", "42", "forty-two 42", "1", "1", "2"]
    verdicts = [OK, OK, OK, BAD, BAD, BAD]
    pairs = pair_responses(_example(), responses, verdicts, PairingConfig(pairs_per_prompt=3))
    assert len(pairs) == 2  # two distinct verified texts, two distinct failed ones
    assert {p["chosen"][0]["content"] for p in pairs} == {"42", "forty-two 42"}
    assert {p["rejected"][0]["content"] for p in pairs} == {"1", "2"}
    assert [p["id"] for p in pairs] == ["arith-0000-p0", "arith-0000-p1"]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2 responses but 1 verdicts"):
        pair_responses(_example(), ["a", "b"], [OK])
    with pytest.raises(ValueError, match="at least 1"):
        PairingConfig(pairs_per_prompt=0)
