"""The shipped OLMo tokenizer: identical to the shared reference file, special ids checked, the PII
variant refused. Golden ids come from the reference file through HF transformers' fast tokenizer."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from olmo_core.tokenizer import (
    OLMO_EOS_ID,
    OLMO_PAD_ID,
    decode,
    default_tokenizer_path,
    encode,
    load_olmo_tokenizer,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
REFERENCE = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


def _texts(n: int = 5) -> list[str]:
    with gzip.open(SHARED / "eval_gen" / "gsm8k" / "requests.jsonl.gz", "rt") as f:
        return [json.loads(next(f))["doc"]["question"] for _ in range(n)]


def test_shipped_file_is_the_reference() -> None:
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(default_tokenizer_path()) == digest(REFERENCE)
    assert (default_tokenizer_path().parent / "NOTICE.md").read_text().count("Apache") >= 1


def test_special_ids_and_round_trip() -> None:
    from transformers import PreTrainedTokenizerFast

    tok = load_olmo_tokenizer()
    assert tok.get_vocab_size() == 50280 and (OLMO_EOS_ID, OLMO_PAD_ID) == (50279, 1)
    ref = PreTrainedTokenizerFast(tokenizer_file=str(REFERENCE))
    for text in _texts():
        ids = encode(tok, text)
        assert ids == ref(text, add_special_tokens=False)["input_ids"]
        assert encode(tok, text, add_eos=True) == [*ids, 50279]
        assert decode(tok, ids) == text


def test_pii_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="IP_ADDRESS"):
        load_olmo_tokenizer(SHARED / "tokenizers" / "allenai_eleuther-ai-gpt-neox-20b-pii-special.json")
    with pytest.raises(FileNotFoundError):
        load_olmo_tokenizer(SHARED / "no-such-tokenizer.json")
