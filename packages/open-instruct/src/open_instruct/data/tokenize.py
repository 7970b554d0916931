"""Tokenizing mixed records into flat arrays: many sequences back to back, with offsets.

An SFT dataset holds one sequence per example; a DPO dataset holds two per pair, chosen at
``2 * i`` and rejected at ``2 * i + 1``, each the full prompt + completion, with only the final
assistant completion (the turns after the shared prompt) marked as a target. Examples longer than ``max_length`` (for DPO: either side)
are dropped and counted per source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from open_instruct.data.mixing import MixStats
from open_instruct.data.template import ChatTemplate
from open_instruct.interfaces import ChatExample, PreferencePair
from open_instruct.tokenizer import ChatTokenizer


@dataclass
class TokenizedData:
    kind: Literal["sft", "dpo"]
    input_ids: np.ndarray  # int32, all sequences back to back
    labels: np.ndarray  # bool, same length: token is a training target
    offsets: np.ndarray  # int64 [num_sequences + 1]
    source: np.ndarray  # int32 [num_sequences]: index of the mix source
    meta: dict = field(default_factory=dict)

    @property
    def num_sequences(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def num_examples(self) -> int:
        """Examples (SFT) or pairs (DPO): the unit that is kept whole."""
        return self.num_sequences // self.group_size

    @property
    def group_size(self) -> int:
        return 2 if self.kind == "dpo" else 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sequence(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.input_ids[a:b], self.labels[a:b]

    def target_counts(self) -> np.ndarray:
        """Target tokens per sequence."""
        return np.add.reduceat(self.labels.astype(np.int64), self.offsets[:-1]) if self.num_sequences else \
            np.zeros(0, np.int64)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"input_ids": self.input_ids, "labels": self.labels, "offsets": self.offsets, "source": self.source}


def _flatten(seqs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lengths = np.asarray([len(s[0]) for s in seqs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.concatenate([s[0] for s in seqs]).astype(np.int32) if seqs else np.zeros(0, np.int32)
    labels = np.concatenate([s[1] for s in seqs]).astype(bool) if seqs else np.zeros(0, bool)
    return ids, labels, offsets


def tokenize_sft(examples: list[ChatExample], tokenizer: ChatTokenizer, template: ChatTemplate,
                 max_length: int, stats: MixStats | None = None) -> TokenizedData:
    seqs, sources = [], []
    for ex in examples:
        k = int(ex.extra.get("mix_source", 0))
        enc = template.encode(ex.messages, tokenizer, train_from=0, where=ex.id or None)
        if len(enc) > max_length:
            if stats is not None:
                stats.sources[k].dropped_too_long += 1
            continue
        seqs.append((enc.input_ids, enc.labels))
        sources.append(k)
        if stats is not None:
            s = stats.sources[k]
            s.sequences += 1
            s.tokens += len(enc)
            s.target_tokens += enc.num_targets
    ids, labels, offsets = _flatten(seqs)
    return TokenizedData("sft", ids, labels, offsets, np.asarray(sources, dtype=np.int32))


def tokenize_dpo(pairs: list[PreferencePair], tokenizer: ChatTokenizer, template: ChatTemplate,
                 max_length: int, stats: MixStats | None = None) -> TokenizedData:
    seqs, sources = [], []
    for pair in pairs:
        k = int(pair.extra.get("mix_source", 0))
        n = len(pair.prompt)
        chosen = template.encode(pair.prompt + pair.chosen, tokenizer, train_from=n, where=pair.id or None)
        rejected = template.encode(pair.prompt + pair.rejected, tokenizer, train_from=n, where=pair.id or None)
        if max(len(chosen), len(rejected)) > max_length:
            if stats is not None:
                stats.sources[k].dropped_too_long += 1
            continue
        seqs += [(chosen.input_ids, chosen.labels), (rejected.input_ids, rejected.labels)]
        sources += [k, k]
        if stats is not None:
            s = stats.sources[k]
            s.sequences += 2
            s.tokens += len(chosen) + len(rejected)
            s.target_tokens += chosen.num_targets + rejected.num_targets
    ids, labels, offsets = _flatten(seqs)
    return TokenizedData("dpo", ids, labels, offsets, np.asarray(sources, dtype=np.int32))
