"""`olmo-core data-order` as a table: the documents of a step, by id and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.cli import main
from olmo_core.data.instances import InstanceSource
from olmo_core.data.order import GlobalOrder
from olmo_core.data.tokens import TokenDataset


def test_table_names_the_documents_of_the_step(corpus_tokens: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data-order", "--preset", "tiny", f"data.paths=[{corpus_tokens}]", "data.seq_len=32",
                 "data.global_batch_size=4", "--step", "2"]) == 0
    out = capsys.readouterr().out
    source = InstanceSource(TokenDataset(corpus_tokens), 32)
    batch = GlobalOrder(len(source), 4, 6198).global_batch(1)  # step 2 is the second global batch
    for idx in batch.tolist():
        for doc in source.documents(idx):
            assert doc.id in out and doc.source in out
    assert "4 instances" in out
    # bad input is one message naming it and exit 2 (the CLI's error boundary), not a traceback
    assert main(["data-order", "--preset", "tiny", f"data.paths=[{corpus_tokens}]", "--step", "0"]) == 2
    assert "--step must be >= 1" in capsys.readouterr().err
