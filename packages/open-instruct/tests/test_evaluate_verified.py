"""``verified_accuracy``: the batched KV-cache greedy answers equal a one-at-a-time full-sequence
greedy decoder's, at any batch size, and each verdict is the example's verifier's; prompts are the
Tulu template up to and including ``<|assistant|>\\n``."""

from __future__ import annotations

import pytest
from greedy_reference import direct_greedy

from open_instruct.data.template import encode_prompt
from open_instruct.evaluate_verified import accuracy_by_family, greedy_responses, judge, verified_accuracy
from open_instruct.interfaces import parse_messages
from open_instruct.tasks import generate_examples
from open_instruct.verifiers import verify


def test_encode_prompt_is_the_template_up_to_the_assistant_header(tokenizer) -> None:
    ex = generate_examples("arithmetic", "heldout", 1, seed=1)[0]
    ids = encode_prompt(tokenizer, parse_messages(ex["messages"]))
    user = ex["messages"][0]["content"]
    assert tokenizer.decode(ids) == f"<|endoftext|><|user|>\n{user}\n<|assistant|>\n"
    assert ids[0] == tokenizer.eos_token_id and ex["answer"] not in tokenizer.decode(ids[-3:])


def test_verified_accuracy_equals_direct_greedy_at_any_batch_size(tiny_model, tokenizer) -> None:
    examples = generate_examples("arithmetic", "heldout", 4, seed=2) + generate_examples("units", "heldout", 3, seed=2)
    direct = [direct_greedy(tiny_model, tokenizer, ex, 6) for ex in examples]
    for i in (0, 3, 5):  # accept exactly the model's own answer, so some verdicts are True
        examples[i]["verifier"] = {"name": "exact", "args": {"answer": direct[i]}}
    expected = [verify(ex["verifier"]["name"], r, **ex["verifier"]["args"]).correct for ex, r in zip(examples, direct)]
    assert sum(expected) == 3
    for batch_size in (1, 3, 7):
        assert greedy_responses(tiny_model, tokenizer, examples, max_new_tokens=6, batch_size=batch_size) == direct
    tiny_model.train()
    assert verified_accuracy(tiny_model, tokenizer, examples, max_new_tokens=6, batch_size=4) == expected
    assert tiny_model.training  # put back in training mode, as a callback mid-run needs


def test_judge_gold_answers_and_per_family_accuracy() -> None:
    examples = generate_examples("sorting", "heldout", 3, seed=4) + generate_examples("counting", "heldout", 2, seed=4)
    gold = [ex["answer"] for ex in examples]
    assert judge(examples, gold) == [True] * 5
    wrong = gold[:2] + ["nonsense"] + gold[3:4] + ["nonsense"]
    correct = judge(examples, wrong)
    assert correct == [True, True, False, True, False]
    assert accuracy_by_family(examples, correct) == {
        "accuracy": 3 / 5, "examples": 5,
        "families": {"counting": {"accuracy": 0.5, "examples": 2}, "sorting": {"accuracy": 2 / 3, "examples": 3}}}
    with pytest.raises(ValueError, match="5 examples but 4 responses"):
        judge(examples, gold[:4])
