"""Fixed-length training instances cut from the global token stream of a :class:`TokenDataset`.

Instance ``i`` is the ``seq_len + 1`` tokens starting at ``i * seq_len``: documents are packed back
to back (each already ends with EOS), and the extra token gives every input position a target, so
consecutive instances share one boundary token. Instances are a pure function of the dataset and
``seq_len``, which is what makes the data order replayable and traceable."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from olmo_core.data.tokens import DocumentRef, TokenDataset


@dataclass(frozen=True)
class InstanceSpan:
    index: int
    start: int  # global token offset of input position 0
    end: int  # exclusive; end - start == seq_len + 1


class InstanceSource:
    """Instances of ``seq_len`` inputs (+1 target) over a token dataset."""

    def __init__(self, dataset: TokenDataset, seq_len: int, *, document_ids: bool = False) -> None:
        if seq_len <= 0:
            raise ValueError(f"data.seq_len must be positive, got {seq_len}")
        self.dataset, self.seq_len, self.document_ids = dataset, seq_len, document_ids
        self.num_instances = max((dataset.num_tokens - 1) // seq_len, 0)
        if self.num_instances == 0:
            raise ValueError(f"the token dataset holds {dataset.num_tokens} tokens, fewer than one instance of "
                             f"seq_len={seq_len} + 1")
        self._doc_starts: np.ndarray | None = None

    def __len__(self) -> int:
        return self.num_instances

    def span(self, index: int) -> InstanceSpan:
        if not 0 <= index < self.num_instances:
            raise IndexError(f"instance {index} outside [0, {self.num_instances})")
        start = index * self.seq_len
        return InstanceSpan(index, start, start + self.seq_len + 1)

    def tokens(self, index: int) -> np.ndarray:
        s = self.span(index)
        return self.dataset.tokens(s.start, s.end)

    def documents(self, index: int) -> list[DocumentRef]:
        s = self.span(index)
        return self.dataset.documents_in(s.start, s.end - 1)  # the inputs; the last target is the next one's

    def doc_ids(self, index: int) -> np.ndarray:
        """Per input position, a document number (global, monotone): equal numbers may attend. The
        boundaries are the documents' token ranges (each ends with its EOS), not an EOS scan."""
        if self._doc_starts is None:
            self._doc_starts = np.concatenate(
                [off + sh.starts for off, sh in zip(self.dataset.offsets[:-1], self.dataset.shards)])
        s = self.span(index)
        pos = np.arange(s.start, s.end - 1, dtype=np.int64)
        return (np.searchsorted(self._doc_starts, pos, side="right") - 1).astype(np.int64)

    def position_ids(self, index: int, doc_ids: np.ndarray | None = None) -> np.ndarray:
        """Per input position, its offset from the first position of its document inside the instance:
        0 at each document start (and at the instance's start, for a document begun before), as
        OLMo-core's intra-document RoPE counts."""
        doc_ids = self.doc_ids(index) if doc_ids is None else doc_ids
        idx = np.arange(len(doc_ids), dtype=np.int64)
        first = np.ones(len(doc_ids), dtype=bool)
        first[1:] = doc_ids[1:] != doc_ids[:-1]
        return idx - np.maximum.accumulate(np.where(first, idx, 0))

    def example(self, index: int) -> dict[str, np.ndarray]:
        toks = self.tokens(index)
        out = {"input_ids": toks[:-1], "labels": toks[1:]}
        if self.document_ids:
            out["doc_ids"] = self.doc_ids(index)
            out["position_ids"] = self.position_ids(index, out["doc_ids"])
        return out
