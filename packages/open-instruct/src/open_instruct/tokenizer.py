"""The OLMo tokenizer, as olmo-core ships it.

olmo-core owns the tokenizer file (``olmo_core.tokenizer.load_olmo_tokenizer``); this module only
adds what chat formatting needs: a stable fingerprint for cache keys and ``encode``/``decode``
without special-token surprises."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

OLMO_EOS_ID = 50279
OLMO_PAD_ID = 1


@dataclass
class ChatTokenizer:
    """A ``tokenizers.Tokenizer`` plus the ids chat formatting needs."""

    tokenizer: Tokenizer
    eos_token_id: int = OLMO_EOS_ID
    pad_token_id: int = OLMO_PAD_ID
    name: str = "olmo"

    @property
    def eos_token(self) -> str:
        return self.tokenizer.id_to_token(self.eos_token_id)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def fingerprint(self) -> str:
        """sha256 of the tokenizer's full JSON, so a changed vocabulary or merge list changes every
        cache key that depends on it."""
        return hashlib.sha256(self.tokenizer.to_str().encode("utf-8")).hexdigest()


def load_tokenizer(path: str | Path | None = None) -> ChatTokenizer:
    """The OLMo tokenizer: olmo-core's shipped copy by default, or a ``tokenizer.json`` (or a folder
    holding one) at ``path``, read by olmo-core's loader."""
    from olmo_core.tokenizer import load_olmo_tokenizer

    tokenizer = load_olmo_tokenizer(path, check_ids=path is None)
    eos = tokenizer.token_to_id("<|endoftext|>")
    if eos is None:
        raise ValueError("tokenizer has no <|endoftext|> token; the OLMo chat template needs it")
    pad = tokenizer.token_to_id("<|padding|>")
    return ChatTokenizer(tokenizer, eos_token_id=eos, pad_token_id=OLMO_PAD_ID if pad is None else pad)
