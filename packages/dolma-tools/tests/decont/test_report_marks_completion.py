"""``report.json`` marks a finished decontamination: removed when a run starts and written last, so a run
that dies while rewriting the eval-side flags leaves no report describing outputs that are not there."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zstandard

import dolma_tools.decont.run as decont_run
from dolma_tools.decont import decontaminate

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"


def _lines(n: int, skip: int = 0) -> list[str]:
    with open(SHARED / "corpus/books/books-0000.jsonl.zst", "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [line for line, _ in zip(text, range(skip + n), strict=False)][skip:]


def test_a_failed_rerun_leaves_no_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "eval").mkdir()
    (tmp_path / "train" / "kjv.jsonl").write_text("".join(_lines(8)))
    (tmp_path / "eval" / "e.jsonl").write_text("".join(_lines(2, skip=3) + _lines(2, skip=50)))
    out = tmp_path / "out"
    report = decontaminate(tmp_path / "eval", tmp_path / "train", out)
    assert report["documents_contaminated"] == 2 and (out / "report.json").is_file()

    def dies(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed while writing the eval flags")

    monkeypatch.setattr(decont_run, "_write_eval_attributes", dies)
    with pytest.raises(RuntimeError):
        decontaminate(tmp_path / "eval", tmp_path / "train", out)
    assert not (out / "report.json").exists()
    monkeypatch.undo()
    again = decontaminate(tmp_path / "eval", tmp_path / "train", out)
    assert not again["index"].pop("rebuilt") and report["index"].pop("rebuilt")  # the index was kept
    assert again == report and (out / "report.json").is_file()
