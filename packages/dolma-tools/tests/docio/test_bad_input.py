"""Item 6 of the issue: every kind of bad input gives an error naming file and line, or, with
``on_error="skip"``, is skipped and counted. Each case goes through ``dolma-tools tag``/``mix``."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import zstandard

from dolma_tools.cli import main
from dolma_tools.docio import ErrorLog, read_documents
from dolma_tools.interfaces import FormatError
from dolma_tools.mixer.config import MixConfig
from dolma_tools.mixer.run import aggregate, mix
from dolma_tools.taggers.run import tag

GOOD = [json.dumps({"id": f"d{i}", "text": f"document number {i} is fine."}) for i in range(4)]


def _write(path: Path, lines: list[str | bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


LINE_CASES = {
    "malformed_json": ('{"id": "x", "text": ', r"line 3: malformed JSON"),
    "missing_text": ('{"id": "x"}', r"line 3, field 'text': missing required field"),
    "missing_id": ('{"text": "no id"}', r"line 3, field 'id': missing required field"),
    "invalid_utf8": (b'{"id": "x", "text": "\xff\xfe"}', r"line 3: invalid UTF-8"),
    "duplicate_id": (GOOD[0], r"line 3, field 'id': duplicate id 'd0' \(first seen at line 1\)"),
}


@pytest.mark.parametrize("kind", sorted(LINE_CASES))
def test_bad_line_raises_or_is_counted(tmp_path: Path, kind: str) -> None:
    bad, message = LINE_CASES[kind]
    path = _write(tmp_path / "documents" / "f.jsonl", [GOOD[0], GOOD[1], bad, GOOD[2], GOOD[3]])
    summary = tag(str(path), ["char_length_v1"], progress=False, processes=1)
    assert not summary.ok
    (failure,) = summary.failures.values()
    assert str(path) in failure
    assert re.search(message, failure), failure
    assert not (tmp_path / "attributes" / "char_length_v1" / "f.jsonl").exists()  # nothing half-written

    summary = tag(str(path), ["char_length_v1"], progress=False, processes=1, on_error="skip")
    assert summary.ok
    (stats,) = summary.stats.values()
    assert stats["docs"] == 4 and stats["errors"]["counts"] == {kind: 1}
    assert str(path) in stats["errors"]["messages"][0] and "line 3" in stats["errors"]["messages"][0]
    out = (tmp_path / "attributes" / "char_length_v1" / "f.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in out] == ["d0", "d1", "d2", "d3"]


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_truncated_compressed_file(tmp_path: Path, suffix: str) -> None:
    lines = [json.dumps({"id": f"d{i}", "text": "word " * 50}) for i in range(2000)]
    path = _write(tmp_path / "documents" / f"t.jsonl{suffix}", lines)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    summary = tag(str(path), ["char_length_v1"], progress=False, processes=1)
    (failure,) = summary.failures.values()
    assert str(path) in failure and "corrupt or truncated compressed file after line" in failure

    errors = ErrorLog()
    docs = list(read_documents(path, on_error="skip", errors=errors))
    assert 0 < len(docs) < 2000 and errors.counts == {"truncated_file": 1}
    summary = tag(str(path), ["char_length_v1"], progress=False, processes=1, on_error="skip")
    (stats,) = summary.stats.values()
    assert stats["errors"]["counts"] == {"truncated_file": 1} and stats["docs"] == len(docs)


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "documents" / "e.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(FormatError, match=r"e.jsonl.gz: empty file"):
        list(read_documents(path))
    assert main(["tag", "--documents", str(path), "--taggers", "char_length_v1", "--no-progress"]) == 1
    assert "empty file: no documents" in capsys.readouterr().out
    assert main(["tag", "--documents", str(path), "--taggers", "char_length_v1", "--no-progress",
                 "--on-error", "skip"]) == 0
    assert "empty_file=1" in capsys.readouterr().out


def _mix_setup(tmp_path: Path, attr_lines: list[str]) -> MixConfig:
    _write(tmp_path / "documents" / "m.jsonl", GOOD)
    _write(tmp_path / "attributes" / "a" / "m.jsonl", attr_lines)
    return MixConfig(documents=[str(tmp_path / "documents")], attributes=["a"],
                     destination=str(tmp_path / "out"), exclude={"short": "a__t__n < 1"})


def _attr(doc_id: str) -> str:
    return json.dumps({"id": doc_id, "attributes": {"a__t__n": [[0, 1, 5]]}})


def test_attribute_ids_must_match(tmp_path: Path) -> None:
    cfg = _mix_setup(tmp_path, [_attr("d0"), _attr("zz"), _attr("d2"), _attr("d3")])
    summary = mix(cfg, progress=False, processes=1)
    (failure,) = summary.failures.values()
    assert "attributes/a/m.jsonl, line 2, field 'id'" in failure and "'zz' does not match document id 'd1'" in failure
    assert not list((tmp_path / "out").glob("*.jsonl.zst"))

    summary = mix(cfg, progress=False, processes=1, on_error="skip")
    sources, errors = aggregate(summary)
    assert errors["counts"] == {"attributes_mismatch": 1}
    assert sources[""]["kept"] == 3 and sources[""]["removed_by"] == {"bad_input": 1}


@pytest.mark.parametrize("n_attrs", [3, 5])
def test_attribute_line_count_must_match(tmp_path: Path, n_attrs: int) -> None:
    cfg = _mix_setup(tmp_path, [_attr(f"d{i}") for i in range(n_attrs)] if n_attrs == 3 else
                     [_attr(f"d{i}") for i in range(4)] + [_attr("extra")])
    summary = mix(cfg, progress=False, processes=1)
    (failure,) = summary.failures.values()
    assert "attributes/a/m.jsonl" in failure
    assert ("fewer lines than its documents" in failure and "line 4" in failure) if n_attrs == 3 else \
        ("line 5: attributes file has more lines" in failure)
    summary = mix(cfg, progress=False, processes=1, on_error="skip")
    _, errors = aggregate(summary)
    assert errors["counts"] == {"attributes_mismatch": 1}
