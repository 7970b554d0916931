"""The Tulu chat template, as open-instruct applies it to OLMo's adapted models.

Kept here (olmo-eval does not depend on open-instruct) and must stay identical to
open-instruct's ``tulu`` template (``open_instruct.data.template.TuluTemplate``): one
``<|endoftext|>`` in front of the conversation (OLMo has no BOS token; the SFT data starts so),
``<|user|>\\n{content}\\n``, ``<|system|>\\n{content}\\n``, ``<|assistant|>\\n{content}{eos}`` (then
``\\n`` before a following turn), and ``<|assistant|>\\n`` as the generation prompt.
``tests/test_chat_template_agreement.py`` (cross-package) checks that both give the same token ids.
"""

from __future__ import annotations

from collections.abc import Sequence

EOS = "<|endoftext|>"
#: strings after which a chat model's answer is over even if it never emits EOS
CHAT_STOP_SEQUENCES = ("<|user|>", "<|assistant|>", "<|system|>", EOS)


def tulu_chat_prompt(messages: Sequence[dict[str, str]], *, add_generation_prompt: bool = True,
                     eos: str = EOS, bos: str = EOS) -> str:
    out = [bos]
    for i, message in enumerate(messages):
        role, content = message["role"], message["content"]
        if role == "system":
            out.append(f"<|system|>\n{content}\n")
        elif role == "user":
            out.append(f"<|user|>\n{content}\n")
        elif role == "assistant":
            last = i == len(messages) - 1
            out.append(f"<|assistant|>\n{content}{eos}" + ("" if last else "\n"))
        else:
            raise ValueError(f"message {i}: unknown role {role!r} (system, user or assistant)")
    if add_generation_prompt:
        out.append("<|assistant|>\n")
    return "".join(out)


def user_prompt(content: str, assistant_prefix: str = "") -> str:
    """One user turn, then the generation prompt and an optional start of the answer. Trailing
    whitespace is dropped: open-instruct encodes ``<|user|>\\n{content}\\n`` apart from the next
    header, so a trailing newline there would merge with the template's into one token that a
    whole-string encoding never produces."""
    return tulu_chat_prompt([{"role": "user", "content": content.rstrip()}]) + assistant_prefix
