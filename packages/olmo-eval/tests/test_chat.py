"""The Tulu template, checked against strings written out by hand from open-instruct's template."""

from __future__ import annotations

import pytest

from olmo_eval.chat import tulu_chat_prompt, user_prompt


def test_single_user_turn() -> None:
    assert user_prompt("What is 2+2?") == "<|endoftext|><|user|>\nWhat is 2+2?\n<|assistant|>\n"
    assert user_prompt("Q", assistant_prefix="Answer:") == "<|endoftext|><|user|>\nQ\n<|assistant|>\nAnswer:"


def test_multi_turn_with_system() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]
    assert tulu_chat_prompt(messages) == ("<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello<|endoftext|>\n"
                                          "<|user|>\nBye\n<|assistant|>\n")
    assert tulu_chat_prompt(messages[:3], add_generation_prompt=False).endswith("Hello<|endoftext|>")


def test_unknown_role_refused() -> None:
    with pytest.raises(ValueError, match="message 0: unknown role 'tool'"):
        tulu_chat_prompt([{"role": "tool", "content": "x"}])
