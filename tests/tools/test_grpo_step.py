"""grpo_step's work check and bench reward, without TRL or a model (the benchmark itself runs them): each
way the check refuses a ratio, and the reward on hand-scored completions."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "bench"))
import grpo_step  # noqa: E402

spec = importlib.util.spec_from_file_location("grpo_reward", REPO / "tools" / "bench" / "sides" / "grpo_reward.py")
assert spec and spec.loader
grpo_reward = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grpo_reward)

OUT = {"prompts": "ab12", "optimizer_steps": 2, "ref_sequences": 16, "probe_logps": [-10.5, -11.25, -9.0],
       "steps": [{"sequences": 8, "prompt_tokens": 460, "completion_tokens": 256, "completion_lengths": [32]},
                 {"sequences": 8, "prompt_tokens": 420, "completion_tokens": 256, "completion_lengths": [32]}]}


def changed(path: list, value: object) -> dict:
    out = copy.deepcopy(OUT)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_equal_work_passes_and_says_what_was_equal() -> None:
    ok, note = grpo_step.check_work(OUT, copy.deepcopy(OUT))
    assert ok
    assert "2 steps, 16 rollouts, 512 completion tokens (every completion 32 tokens)" in note
    assert "16 reference scorings" in note


def test_every_difference_refuses_a_ratio() -> None:
    for path, value in [(["prompts"], "cd34"),  # other prompt token ids
                        (["steps", 1, "completion_tokens"], 250),  # a completion stopped early
                        (["steps", 0, "sequences"], 7),
                        (["steps", 0, "prompt_tokens"], 461),
                        (["ref_sequences"], 8),  # the reference scored only half
                        (["optimizer_steps"], 1),
                        (["probe_logps", 2], -9.001)]:  # initial weights differ by more than 1e-4
        ok, note = grpo_step.check_work(OUT, changed(path, value))
        assert not ok, (path, note)
    assert not grpo_step.check_work(OUT, None)[0]
    # the same on both sides but not what was asked: steps counted without an optimizer step each
    assert not grpo_step.check_work(changed(["optimizer_steps"], 3), changed(["optimizer_steps"], 3))[0]
    assert not grpo_step.check_work(changed(["ref_sequences"], 0), changed(["ref_sequences"], 0))[0]


def test_probe_within_tolerance_passes() -> None:
    ok, note = grpo_step.check_work(OUT, changed(["probe_logps", 0], -10.50005))
    assert ok and "max |diff| 5.00e-05" in note


def test_bench_reward_by_hand() -> None:
    # "The answer is 18" (16 characters, 2 digits): correct, plus half of 2/16
    assert grpo_reward.score("The answer is 18", "18") == 1.0 + 0.5 * 2 / 16
    assert grpo_reward.score("1,234 apples", "1234") == 1.0 + 0.5 * 4 / 12  # commas stripped
    assert grpo_reward.score("18 then 19", "18") == 0.5 * 4 / 10  # the last number counts
    assert grpo_reward.score("no number", "18") == 0.0
    assert grpo_reward.score("", "18") == 0.0
