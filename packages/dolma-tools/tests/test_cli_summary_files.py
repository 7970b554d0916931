"""``--summary FILE`` of dedupe and tokens is written last and removed when a run starts: a run that
fails leaves no summary of an earlier run beside outputs that no longer match it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dolma_tools.dedupe
import dolma_tools.tokens
from dolma_tools.cli import main


@pytest.mark.parametrize(("command", "module", "function"), [("dedupe", dolma_tools.dedupe, "dedupe_files"),
                                                              ("tokens", dolma_tools.tokens, "tokenize_files")])
def test_summary_file_is_gone_after_a_failed_run(command: str, module: object, function: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"documents": 3}) + "\n")  # an earlier run's
    (tmp_path / "summary.json.tmp-99999").write_text("{")  # and what a killed one left

    def fails(*args: object, **kwargs: object) -> None:
        raise ValueError("d.jsonl, line 2: malformed JSON")

    monkeypatch.setattr(module, function, fails)
    argv = [command, "--documents", "d.jsonl", "--destination", str(tmp_path / "out"), "--summary", str(summary)]
    assert main(argv) == 2
    assert not summary.exists()

    monkeypatch.setattr(module, function, lambda *a, **k: {"documents": 5})
    assert main(argv) == 0
    assert json.loads(summary.read_text())["documents"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
