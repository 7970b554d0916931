"""olmo-eval's local Tulu template (it cannot import open-instruct) gives the token ids that
open-instruct's ``tulu`` template trains adapted models on, for the chat prompts of every
generation task."""

from __future__ import annotations

from olmo_eval.chat import tulu_chat_prompt
from olmo_eval.tasks import get_task
from olmo_eval.tasks.suites import GEN6
from olmo_eval.tokenizer import Tokenizer
from open_instruct.data.template import get_template
from open_instruct.interfaces import Message
from open_instruct.tokenizer import load_tokenizer


def _user_content(prompt: str) -> str:
    head, tail = "<|endoftext|><|user|>\n", "\n<|assistant|>\n"
    assert prompt.startswith(head) and tail in prompt
    return prompt[len(head):prompt.index(tail)]


def test_chat_prompts_tokenize_as_open_instruct_templates_them(shared_data) -> None:
    tok = load_tokenizer()
    codec = Tokenizer.from_file(shared_data / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json")
    template = get_template("tulu")
    for name in GEN6:
        task = get_task(name, limit=3)
        for inst in task.instances():
            content = _user_content(task.prompt(inst, "chat"))
            ours = codec.encode(tulu_chat_prompt([{"role": "user", "content": content}]))
            theirs = template.encode([Message("user", content)], tok, add_generation_prompt=True, train_from=None)
            assert ours == theirs.input_ids.tolist(), name


def test_multi_turn_conversation_agrees(shared_data) -> None:
    tok = load_tokenizer()
    codec = Tokenizer.from_file(shared_data / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json")
    turns = [("system", "Answer briefly."), ("user", "What is 2+2?"), ("assistant", "4"), ("user", "And 3+3?")]
    ours = codec.encode(tulu_chat_prompt([{"role": r, "content": c} for r, c in turns]))
    theirs = get_template("tulu").encode([Message(r, c) for r, c in turns], tok, add_generation_prompt=True,
                                         train_from=None)
    assert ours == theirs.input_ids.tolist()
