"""Rollouts: prompt encoding, seeded sampling that replays, the micro-batch layout, per-token log-probs
against a full-logits computation, the rollout log and its replay, and task-file errors."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from tasks_fixture import task_records, toy_reward, write_tasks

from open_instruct.grpo.loader import RolloutBatches, RolloutConfig
from open_instruct.grpo.logprobs import completion_logprobs
from open_instruct.grpo.loss import group_advantages
from open_instruct.grpo.rollouts import collate, encode_prompt, load_task_prompts, log_path, read_log
from open_instruct.interfaces import DataFormatError


def _loader(model, tokenizer, tmp_path, **kw):
    examples = task_records(6)
    prompts = [encode_prompt(tokenizer, ex) for ex in examples]
    rollout = RolloutConfig(group_size=4, max_new_tokens=6, temperature=0.9, **kw)
    return RolloutBatches(model, examples, prompts, tokenizer, rollout, prompts_per_step=2, micro_batch_size=1,
                          run_dir=tmp_path / "run", seed=5, order_seed=3, reward_fn=toy_reward)


def test_prompt_is_the_user_turn_up_to_the_assistant_header(tokenizer) -> None:
    ex = task_records(1)[0]
    text = tokenizer.decode(encode_prompt(tokenizer, ex))
    assert text == "<|endoftext|><|user|>\nWhat is 3 + 4?\n<|assistant|>\n"  # the gold answer is not in it


def test_sampling_replays_and_batches_are_laid_out(tiny_model, tokenizer, tmp_path) -> None:
    a = _loader(tiny_model, tokenizer, tmp_path / "a").rollout(0)
    b = _loader(tiny_model, tokenizer, tmp_path / "b").rollout(0)
    c = _loader(tiny_model, tokenizer, tmp_path / "c").rollout(1)
    assert a.completions == b.completions and a.rewards == b.rewards  # same weights, seed, step: same rollouts
    assert a.completions != c.completions  # another step draws other tokens
    assert (tmp_path / "a" / "run" / "rollouts" / "step1.jsonl").read_bytes() == \
        (tmp_path / "b" / "run" / "rollouts" / "step1.jsonl").read_bytes()
    assert len(a.completions) == 8 and a.prompt_index[:4] == [a.prompt_index[0]] * 4  # groups in order
    assert a.rewards == [toy_reward({}, t) for t in a.texts]
    assert a.advantages == pytest.approx(group_advantages(torch.tensor(a.rewards), 4).tolist())
    assert [len(mb["input_ids"]) for mb in a.micro_batches] == [4, 4]  # one prompt's group each
    k = 0
    for mb in a.micro_batches:
        for row, lab in zip(mb["input_ids"], mb["labels"]):
            want = a.completions[k] + ([tokenizer.eos_token_id] if a.ended[k] else [])
            assert row[lab].tolist() == want  # the loss covers the completion and its eos, nothing else
            assert row[:int(lab.nonzero()[0])].tolist() == a.prompts[k]
            k += 1


def test_completion_logprobs_equal_full_logits(tiny_model, tokenizer) -> None:
    mb = collate([[5, 6, 7], [8, 9]], [[10, 11], [12, 13, 14]], [True, False], [1.0, -1.0],
                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    got = completion_logprobs(tiny_model, mb, temperature=0.7)
    with torch.no_grad():
        logits = tiny_model(mb["input_ids"], doc_ids=mb["doc_ids"], position_ids=mb["position_ids"])
    logp = F.log_softmax(logits[:, :-1, :tiny_model.vocab_size].float() / 0.7, dim=-1)
    full = logp.gather(-1, mb["input_ids"][:, 1:, None]).squeeze(-1) * mb["labels"][:, 1:]
    torch.testing.assert_close(got.detach(), full, rtol=1e-5, atol=1e-5)
    assert mb["labels"][:, 1:].sum() == 3 + 3  # [10, 11, eos] and [12, 13, 14] (cut at the budget)
    # a row alone gives the same values as inside the padded batch
    alone = collate([[8, 9]], [[12, 13, 14]], [False], [-1.0], eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)
    one = completion_logprobs(tiny_model, alone, temperature=0.7).detach()
    torch.testing.assert_close(one[0][alone["labels"][0, 1:]], got[1][mb["labels"][1, 1:]].detach(),
                               rtol=1e-5, atol=1e-6)


def test_log_replays_a_batch_with_old_logps(tiny_model, tokenizer, tmp_path) -> None:
    loader = _loader(tiny_model, tokenizer, tmp_path, num_iterations=2)
    first = loader.rollout(0)
    header, recs = read_log(tmp_path / "run", 1)
    assert header["completions"] == 8 and header["prompts"] == 2 and len(recs) == 8
    assert [r["completion_ids"] for r in recs] == first.completions
    again = _loader(tiny_model, tokenizer, tmp_path, num_iterations=2).replay(0)
    for x, y in zip(first.micro_batches, again.micro_batches):
        assert x.keys() == y.keys() and "old_logps" in x
        for key in x:
            assert torch.equal(x[key], y[key]), key
    # the first iteration's ratio is exactly 1: old log-probs were taken on the same micro-batches
    mb = first.micro_batches[0]
    assert torch.equal(completion_logprobs(tiny_model.eval(), mb, 0.9).detach(), mb["old_logps"])
    path = log_path(tmp_path / "run", 1)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace('"reward": ', '"reward": 1')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="does not match its digest"):
        read_log(tmp_path / "run", 1)


def test_loader_resumes_at_its_position(tiny_model, tokenizer, tmp_path) -> None:
    loader = _loader(tiny_model, tokenizer, tmp_path, num_iterations=2)
    it = iter(loader)
    steps = [next(it) for _ in range(3)]
    assert steps[0] is steps[1] and steps[2] is not steps[1]  # a batch serves num_iterations steps
    state = loader.state_dict()
    other = _loader(tiny_model, tokenizer, tmp_path, num_iterations=2)
    other.load_state_dict(json.loads(json.dumps(state)))
    nxt = next(iter(other))  # step 4 (0-based 3): the second use of the batch drawn at step 3, from its log
    for x, y in zip(steps[2], nxt):
        assert all(torch.equal(x[k], y[k]) for k in x)
    with pytest.raises(ValueError, match="group_size"):
        _loader(tiny_model, tokenizer, tmp_path).load_state_dict({**state, "group_size": 8})


def test_bad_task_file_names_line_and_field(tmp_path) -> None:
    good = write_tasks(tmp_path / "t.jsonl", 2)
    assert len(load_task_prompts(good)) == 2
    rec = task_records(1)[0]
    cases = [("{not json\n", "t1.jsonl:line 1"),
             (json.dumps({**rec, "verifier": "exact"}) + "\n", "field 'verifier'"),
             (json.dumps({**rec, "messages": [{"role": "assistant", "content": "x"}]}) + "\n", "field 'messages'"),
             (json.dumps({**rec, "messages": [{"role": "user"}]}) + "\n", "field 'messages[0]'")]
    for text, where in cases:
        path = tmp_path / "t1.jsonl"
        path.write_text(json.dumps(rec) + "\n" + text if where != "t1.jsonl:line 1" else text)
        with pytest.raises(DataFormatError, match=where.replace("[", r"\[").replace("]", r"\]")):
            load_task_prompts(path)


def test_default_reward_is_the_verifiers_score() -> None:
    from open_instruct.grpo.rollouts import verified_reward
    from open_instruct.tasks import generate_examples

    for family in ("arithmetic", "sorting", "formatting"):
        for ex in generate_examples(family, "train", 3, seed=1):
            assert verified_reward(ex, ex["answer"]) == 1.0, (family, ex["answer"])
            assert verified_reward(ex, "") < 1.0
