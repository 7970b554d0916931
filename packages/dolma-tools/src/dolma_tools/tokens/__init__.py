"""Tokenization: documents to flat token arrays with per-document sidecars (see ``interfaces``)."""

from dolma_tools.tokens.run import pack_units, tokenize_files
from dolma_tools.tokens.tokenizer import DEFAULT_TOKENIZER, TokenizerSpec, load_tokenizer
from dolma_tools.tokens.writer import TokenShardWriter, write_shard

__all__ = ["DEFAULT_TOKENIZER", "TokenShardWriter", "TokenizerSpec", "load_tokenizer", "pack_units",
           "tokenize_files", "write_shard"]
