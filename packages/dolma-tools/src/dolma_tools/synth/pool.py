"""The paragraphs of the input sample, per source, packed into one byte string each (with offsets):
what every output document is recombined from. Memory is the input's size, whatever the scale.

A paragraph longer than ``max_unit_chars`` is cut into pieces at line ends or sentence ends: a source
whose documents are one long paragraph (a Bible chapter) would otherwise give few, large units, and
two output documents drawing the same one would be accidental near-duplicates missing from the key."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dolma_tools.docio import expand_inputs, iter_documents


@dataclass
class Template:
    """What an output document copies from one input document: its source and paragraph count."""

    source: int
    paragraphs: int
    created: str | None


_CUT = re.compile(r"(?<=\n)|(?<=[.!?;:] )")


def units(paragraph: str, max_chars: int) -> list[str]:
    """``paragraph`` itself, or its pieces of at most ``max_chars`` (a longer line or sentence stays whole)."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    out: list[str] = []
    cur = ""
    for piece in _CUT.split(paragraph):
        if cur and len(cur) + len(piece) > max_chars:
            out.append(cur.rstrip())
            cur = ""
        cur += piece
    if cur.strip():
        out.append(cur.rstrip())
    return [u for u in out if u.strip()]


class ParagraphPool:
    def __init__(self, inputs: str | Path | Iterable[str | Path], *, vocabulary_size: int = 50_000,
                 seed: int = 0, max_unit_chars: int = 1000) -> None:
        files = expand_inputs(inputs)
        if not files:
            raise FileNotFoundError(f"no document files in {inputs!r}")
        names: dict[str, int] = {}
        blobs: list[bytearray] = []
        offsets: list[list[int]] = []
        self.templates: list[Template] = []
        self.input_documents = 0
        self.input_chars = 0
        for path in files:
            for _, doc in iter_documents(path):
                paras = [u for p in doc.text.split("\n\n") if p.strip() for u in units(p, max_unit_chars)]
                self.input_documents += 1
                self.input_chars += len(doc.text)
                if not paras:
                    continue
                src = names.setdefault(doc.source or path.parent.name, len(names))
                if src == len(blobs):
                    blobs.append(bytearray())
                    offsets.append([0])
                for p in paras:
                    blobs[src] += p.encode("utf-8", "surrogatepass")
                    offsets[src].append(len(blobs[src]))
                self.templates.append(Template(src, len(paras), doc.created))
        if not self.templates:
            raise ValueError(f"no document with text in {inputs!r}")
        self.sources = list(names)
        self._blobs = [bytes(b) for b in blobs]
        self._offsets = [np.asarray(o, dtype=np.int64) for o in offsets]
        self.vocabulary = self._vocabulary(vocabulary_size, np.random.default_rng([seed, 1]))

    def count(self, source: int) -> int:
        return len(self._offsets[source]) - 1

    def paragraph(self, source: int, index: int) -> str:
        o = self._offsets[source]
        return self._blobs[source][o[index]:o[index + 1]].decode("utf-8", "surrogatepass")

    def _vocabulary(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Words drawn from random paragraphs (so frequent words are frequent): replacement words."""
        words: list[str] = []
        while len(words) < size:
            src = int(rng.integers(len(self.sources)))
            para = self.paragraph(src, int(rng.integers(self.count(src)))).split()
            if para:
                words.extend(para[i] for i in rng.integers(0, len(para), size=min(8, len(para))))
        return np.asarray(words[:size], dtype=object)
