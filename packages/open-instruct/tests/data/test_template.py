"""The Tulu chat template for OLMo: exact text, exact masks, loud failures."""

from __future__ import annotations

import numpy as np
import pytest
from instruct_data import head

from open_instruct.data.template import Encoded, get_template
from open_instruct.interfaces import ChatExample, DataFormatError, Message

TULU = get_template("tulu")


def msgs(*pairs: tuple[str, str]) -> list[Message]:
    return [Message(r, c) for r, c in pairs]


def test_render_matches_the_tulu_olmo_format(tokenizer) -> None:
    m = msgs(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "2+2?"), ("assistant", "4"))
    # Written by hand from open-instruct's tulu/olmo chat template with a leading eos (OLMo add_bos).
    expected = ("<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello!<|endoftext|>\n"
                "<|user|>\n2+2?\n<|assistant|>\n4<|endoftext|>")
    assert TULU.render(m, tokenizer) == expected
    assert TULU.render(m[:4], tokenizer, add_generation_prompt=True).endswith("<|user|>\n2+2?\n<|assistant|>\n")


def test_mask_covers_exactly_the_assistant_turns(tokenizer) -> None:
    m = msgs(("user", "Hi"), ("assistant", "Hello there"), ("user", "Bye"), ("assistant", "Bye now"))
    enc = TULU.encode(m, tokenizer)
    assert enc.input_ids[0] == tokenizer.eos_token_id and not enc.labels[0]
    trained = tokenizer.decode(enc.input_ids[enc.labels].tolist())
    assert trained == "Hello there<|endoftext|>Bye now<|endoftext|>"
    # the last turn only (a DPO completion after a two-turn prompt)
    enc2 = TULU.encode(m, tokenizer, train_from=2)
    assert tokenizer.decode(enc2.input_ids[enc2.labels].tolist()) == "Bye now<|endoftext|>"
    assert np.array_equal(enc.input_ids, enc2.input_ids)


def test_pieces_tokenize_like_the_whole_text_on_shared_data(tokenizer) -> None:
    # Tokenizing piece by piece must not change the ids the model sees at inference, where the
    # rendered prompt is tokenized whole.
    for obj in head("sft.jsonl.zst", 40):
        ex = ChatExample.from_json(obj)
        enc = TULU.encode(ex.messages, tokenizer)
        text = TULU.render(ex.messages, tokenizer)
        whole = tokenizer.encode(text)
        assert enc.input_ids.tolist() == whole, ex.id
        assert tokenizer.decode(enc.input_ids[enc.labels].tolist()) == ex.messages[-1].content + "<|endoftext|>"


def test_check_fails_loudly(tokenizer) -> None:
    m = msgs(("user", "Hi"), ("assistant", "Hello"))
    enc = TULU.encode(m, tokenizer)
    shifted = Encoded(enc.input_ids, np.roll(enc.labels, -1))
    with pytest.raises(DataFormatError, match="trained tokens decode to"):
        TULU.check_labels(shifted, m, tokenizer, where="x.jsonl:line 3")
    with pytest.raises(DataFormatError, match="x.jsonl:line 3.*no tokens to train on"):
        TULU.check_labels(Encoded(enc.input_ids, np.zeros_like(enc.labels)), m, tokenizer, where="x.jsonl:line 3")
    with pytest.raises(DataFormatError, match="no tokens to train on"):
        TULU.encode(m, tokenizer, train_from=2)  # nothing after message 2


def test_unknown_template_named() -> None:
    with pytest.raises(KeyError, match="unknown chat template 'chatml'.*tulu"):
        get_template("chatml")
