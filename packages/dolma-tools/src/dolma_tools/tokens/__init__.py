"""Tokenization: documents to flat token arrays with per-document sidecars (see ``interfaces``)."""

from dolma_tools.tokens.arrays import DEFAULT_ARRAY_FORMAT, metadata_path, read_array
from dolma_tools.tokens.run import pack_units, tokenize_files
from dolma_tools.tokens.tokenizer import DEFAULT_TOKENIZER, TokenizerSpec, load_tokenizer
from dolma_tools.tokens.writer import TokenShardWriter, write_shard

__all__ = ["DEFAULT_ARRAY_FORMAT", "DEFAULT_TOKENIZER", "TokenShardWriter", "TokenizerSpec", "load_tokenizer",
           "metadata_path", "pack_units", "read_array", "tokenize_files", "write_shard"]
