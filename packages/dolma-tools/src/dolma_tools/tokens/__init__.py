"""Tokenization: documents to flat token arrays with per-document sidecars (see ``interfaces``)."""

from dolma_tools.tokens.tokenizer import DEFAULT_TOKENIZER, TokenizerSpec, load_tokenizer
from dolma_tools.tokens.writer import TokenShardWriter, tokenize_files

__all__ = ["DEFAULT_TOKENIZER", "TokenizerSpec", "TokenShardWriter", "load_tokenizer", "tokenize_files"]
