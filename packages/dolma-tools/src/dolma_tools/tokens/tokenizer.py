"""Loading HF ``tokenizers`` files, with the OLMo tokenizer shipped as the default."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tokenizers import Tokenizer

from dolma_tools.hashing import sha256_hex

OLMO_TOKENIZER_FILE = "allenai_gpt-neox-olmo-dolma-v1_5.json"
DEFAULT_TOKENIZER = str(resources.files("dolma_tools.data").joinpath("tokenizers", OLMO_TOKENIZER_FILE))
OLMO_EOS_ID = 50279
OLMO_PAD_ID = 1


@dataclass(frozen=True)
class TokenizerSpec:
    tokenizer: Tokenizer
    name: str
    sha256: str
    eos_id: int
    pad_id: int
    vocab_size: int


def load_tokenizer(path: str | Path | None = None, *, eos_id: int = OLMO_EOS_ID,
                   pad_id: int = OLMO_PAD_ID) -> TokenizerSpec:
    """Load a tokenizer JSON file (default: the shipped OLMo tokenizer) and check that ``eos_id``
    decodes to an end-of-text token, since an older PII tokenizer has ``|||IP_ADDRESS|||`` there."""
    path = Path(path or DEFAULT_TOKENIZER)
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer file {path} does not exist")
    data = path.read_bytes()
    tok = Tokenizer.from_str(data.decode("utf-8"))
    eos_text = tok.id_to_token(eos_id)
    if eos_text is None or "endoftext" not in eos_text:
        raise ValueError(f"{path}: eos id {eos_id} is {eos_text!r}, not an end-of-text token; "
                         "pass the right --eos-id or tokenizer file")
    return TokenizerSpec(tokenizer=tok, name=path.name, sha256=sha256_hex(data), eos_id=eos_id,
                         pad_id=pad_id, vocab_size=tok.get_vocab_size(with_added_tokens=True))
