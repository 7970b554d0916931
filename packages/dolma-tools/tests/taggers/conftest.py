from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dolma_tools.docio import iter_documents
from dolma_tools.interfaces import Document

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "corpus"


@pytest.fixture
def corpus_docs() -> Callable[[str, int], list[Document]]:
    """The first ``n`` documents of a source's first file in ../shared/data/corpus."""

    def load(source: str, n: int) -> list[Document]:
        path = sorted((CORPUS / source).glob("*.jsonl.zst"))[0]
        out = []
        for _, d in iter_documents(path):
            out.append(d)
            if len(out) >= n:
                break
        return out

    return load
