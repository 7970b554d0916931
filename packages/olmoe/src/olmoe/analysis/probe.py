"""The probe set and the routing a model gives it.

A probe is a list of documents, each with a source (the group for domain specialization): read from
a tokenized dataset (``*.npy`` + ``*.docs.jsonl`` sidecars, sources from the sidecar) or from Dolma
documents (``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``, e.g. ``../shared/data/corpus``) tokenized with
the OLMo tokenizer. Documents are packed into rows of ``seq_len`` with per-document attention
masking, so the routing of a token depends only on its own document."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from olmoe.moe import moe_layers

DOC_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst")


@dataclass
class ProbeSet:
    docs: list[np.ndarray]  #: token ids per document (int64)
    sources: list[str]  #: source of each document

    @property
    def num_tokens(self) -> int:
        return int(sum(len(d) for d in self.docs))

    def token_ids(self) -> np.ndarray:
        return np.concatenate(self.docs) if self.docs else np.zeros(0, dtype=np.int64)

    def token_sources(self) -> np.ndarray:
        return np.concatenate([np.full(len(d), s, dtype=object) for d, s in zip(self.docs, self.sources)]) \
            if self.docs else np.zeros(0, dtype=object)


def _open_text(path: Path) -> io.TextIOBase:
    name = path.name
    if name.endswith(".zst"):
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _iter_documents(path: Path) -> Iterator[tuple[str, str]]:
    """(source, text) of every document, with errors naming the file and line."""
    with _open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}, line {lineno}: not JSON ({e})") from e
            if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
                raise ValueError(f"{path}, line {lineno}: a document needs a string field 'text'")
            yield str(doc.get("source") or path.parent.name), doc["text"]


def load_probe(path: str | Path, *, docs_per_source: int = 8, max_tokens_per_doc: int = 256,
               tokenizer: str | Path | None = None) -> ProbeSet:
    """The first ``docs_per_source`` documents of every source under ``path``, each cut to
    ``max_tokens_per_doc`` tokens (documents of fewer than 2 tokens are skipped)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"probe {path}: no such file or folder")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    if any(p.name.endswith(".docs.jsonl") for p in files):
        return _probe_from_tokens(path, docs_per_source, max_tokens_per_doc)
    doc_files = [p for p in files if p.name.endswith(DOC_SUFFIXES)]
    if not doc_files:
        raise FileNotFoundError(f"probe {path}: neither token shards (*.docs.jsonl) nor documents "
                                f"({', '.join(DOC_SUFFIXES)})")
    from olmo_core.tokenizer import encode, load_olmo_tokenizer

    tok = load_olmo_tokenizer(tokenizer)
    texts: dict[str, list[str]] = {}

    def full(source: str) -> bool:
        return len(texts.get(source, [])) >= docs_per_source

    for f in doc_files:
        if full(f.parent.name):  # the corpus layout: one folder per source, several files each
            continue
        for source, text in _iter_documents(f):
            if full(source):
                if source == f.parent.name:
                    break  # this file's source is done; a mixed file is read to its end
                continue
            texts.setdefault(source, []).append(text)
    docs, sources = [], []
    for source in sorted(texts):
        for text in texts[source]:
            ids = np.asarray(encode(tok, text[: max_tokens_per_doc * 16])[:max_tokens_per_doc], dtype=np.int64)
            if len(ids) >= 2:
                docs.append(ids)
                sources.append(source)
    return ProbeSet(docs=docs, sources=sources)


def _probe_from_tokens(path: Path, docs_per_source: int, max_tokens_per_doc: int) -> ProbeSet:
    from olmo_core.data.tokens import TokenDataset

    ds = TokenDataset(path)
    taken: dict[str, int] = {}
    docs, sources = [], []
    for shard, base in zip(ds.shards, ds.offsets[:-1]):
        for start, end, source in zip(shard.starts, shard.ends, shard.sources):
            if taken.get(source, 0) >= docs_per_source:
                continue
            end = min(int(end) - 1, int(start) + max_tokens_per_doc)  # without the EOS
            if end - int(start) < 2:
                continue
            docs.append(ds.tokens(int(base) + int(start), int(base) + end))
            sources.append(source)
            taken[source] = taken.get(source, 0) + 1
    return ProbeSet(docs=docs, sources=sources)


def pack(probe: ProbeSet, seq_len: int, pad_id: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows of ``seq_len``: ``input_ids``, ``doc_ids`` (padding gets -1) and the flat positions of
    the real tokens in probe order."""
    ids = probe.token_ids()
    doc = np.concatenate([np.full(len(d), i) for i, d in enumerate(probe.docs)]) if probe.docs else ids
    rows = max(1, -(-len(ids) // seq_len))
    input_ids = np.full(rows * seq_len, pad_id, dtype=np.int64)
    doc_ids = np.full(rows * seq_len, -1, dtype=np.int64)
    input_ids[: len(ids)], doc_ids[: len(ids)] = ids, doc
    return (torch.from_numpy(input_ids).view(rows, seq_len), torch.from_numpy(doc_ids).view(rows, seq_len),
            torch.arange(len(ids)))


@torch.no_grad()
def collect_routing(model: nn.Module, probe: ProbeSet, *, seq_len: int = 256, batch_size: int = 8) -> np.ndarray:
    """Top-k experts of every probe token in every MoE layer: ``[L, N, k]`` (int16/int32)."""
    layers = [m for _, m in moe_layers(model)]
    if not layers:
        raise ValueError("the model has no MoE layers (olmoe.moe.MoEFeedForward) to analyze")
    seq_len = min(seq_len, int(getattr(model, "max_sequence_length", seq_len)))
    input_ids, doc_ids, real = pack(probe, seq_len, pad_id=int(getattr(model, "pad_token_id", 1)))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    for layer in layers:
        layer.capture = []
    try:
        for b in range(0, input_ids.shape[0], batch_size):
            model(input_ids[b:b + batch_size].to(device), doc_ids=doc_ids[b:b + batch_size].to(device))
        per_layer = [torch.cat(layer.capture or [], dim=0).cpu() for layer in layers]  # type: ignore[arg-type]
    finally:
        for layer in layers:
            layer.capture = None
        model.train(was_training)
    dtype = torch.int16 if max(m.num_experts for m in layers) < 2**15 else torch.int32
    return torch.stack([p[real] for p in per_layer]).to(dtype).numpy()
