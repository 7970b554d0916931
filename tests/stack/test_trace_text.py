"""``olmo-stack index`` / ``trace-text`` on a run folder laid out as the pipeline lays it out (token
shards from dolma-tools, ``pretrain/config.json`` and ``metrics.jsonl``): a text copied from a training
document is found whole in that document, a text made of two documents' passages gives one span in
each, a made-up text gives none. Counts are checked against a NumPy sliding-window search of the
shards, documents against the shards' sidecars, and the steps that saw each occurrence against
olmo-core's own data order (``GlobalOrder`` and ``trace_step``, what ``olmo-stack trace --step`` runs)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard

from olmo_stack.cli import main

SEQ_LEN, BATCH, SEED, STEPS = 64, 8, 6198, 400  # 400 steps: one epoch (351 batches) and part of the next
ABSENT = "Seventeen violet accordions negotiate quaternion tariffs beneath the municipal glacier observatory."


def _docs(path: Path, n: int) -> list[dict]:
    with open(path, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    from dolma_tools.tokens import tokenize_files

    root = tmp_path_factory.mktemp("run")
    books = _docs(shared_data / "corpus/books/books-0000.jsonl.zst", 40)
    code = _docs(shared_data / "corpus/code/code-0000.jsonl.zst", 20)
    (root / "docs").mkdir()
    for name, docs in (("books", books), ("code", code)):
        (root / "docs" / f"{name}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    tokenize_files([root / "docs"], root / "tokens" / "tokens", max_tokens_per_file=60_000, progress=False)
    (root / "pretrain").mkdir()
    (root / "pretrain" / "config.json").write_text(json.dumps({
        "data": {"paths": [str(root / "tokens" / "tokens")], "seq_len": SEQ_LEN, "global_batch_size": BATCH,
                 "micro_batch_size": 4, "seed": SEED, "shuffle": True}, "trainer": {"max_steps": STEPS}}))
    (root / "pretrain" / "metrics.jsonl").write_text("".join(json.dumps({"step": s}) + "\n"
                                                             for s in range(1, STEPS + 1)))
    assert main(["index", str(root)]) == 0
    from olmo_core.data.tokens import TokenDataset

    ds = TokenDataset([root / "tokens" / "tokens"])
    stream = ds.tokens(0, ds.num_tokens).astype(np.int64)
    return {"root": root, "books": books, "code": code, "stream": stream, "dataset": ds}


def _passage(doc: dict, start: int, length: int) -> str:
    """About ``length`` characters of ``doc`` from the first space after ``start``, to a space."""
    text = doc["text"]
    a = text.index(" ", start) + 1
    return text[a:text.rindex(" ", a, a + length)]


def _brute_count(stream: np.ndarray, ids: list[int]) -> int:
    windows = np.lib.stride_tricks.sliding_window_view(stream, len(ids))
    return int((windows == np.asarray(ids)).all(axis=1).sum())


def _steps_by_replay(position: int, length: int) -> list[int]:
    """Every step 1..STEPS whose batch holds an instance reading any of the positions (olmo-core's order)."""
    from olmo_core.data.order import GlobalOrder

    num_tokens = _steps_by_replay.num_tokens  # type: ignore[attr-defined]
    order = GlobalOrder((num_tokens - 1) // SEQ_LEN, BATCH, SEED)
    out = []
    for step in range(1, STEPS + 1):
        starts = order.global_batch(step - 1) * SEQ_LEN
        if ((starts < position + length) & (starts + SEQ_LEN > position)).any():
            out.append(step)
    return out


def _check_occurrences(run: dict, span: dict) -> None:
    from olmo_core.data.instances import InstanceSource
    from olmo_core.data.order import GlobalOrder
    from olmo_core.data.trace import trace_step

    _steps_by_replay.num_tokens = run["dataset"].num_tokens  # type: ignore[attr-defined]
    length = span["end"] - span["start"]
    source = InstanceSource(run["dataset"], SEQ_LEN)
    order = GlobalOrder(len(source), BATCH, SEED)
    for occ in span["occurrences"]:
        doc = run["dataset"].document_at(occ["position"])
        assert (occ["doc_id"], occ["source"]) == (doc.id, doc.source)
        assert occ["steps"] == _steps_by_replay(occ["position"], length)
        for step in occ["steps"][:2]:  # what `olmo-stack trace --step` shows for that step holds the document
            assert doc.id in {d.id for i in trace_step(source, order, step).instances for d in i.documents}


def _trace(run: dict, text: str, *extra: str) -> dict:
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["trace-text", str(run["root"]), text, "--json", "--max-occurrences", "50", *extra]) == 0
    return json.loads(out.getvalue())


def test_index_is_reused_while_the_shards_are_unchanged(run: dict, capsys: pytest.CaptureFixture) -> None:
    assert main(["index", str(run["root"])]) == 0
    assert "current, reused" in capsys.readouterr().out


def test_text_copied_from_a_training_document_is_found_whole(run: dict) -> None:
    doc = run["books"][11]
    trace = _trace(run, _passage(doc, 400, 500))
    n = len(trace["ids"])
    assert len(trace["spans"]) == 1
    span = trace["spans"][0]
    # the first and last token of a cut passage may tokenize differently than inside the document
    assert span["start"] <= 1 and span["end"] >= n - 1 and n > 60
    assert doc["id"] in {o["doc_id"] for o in span["occurrences"]}
    assert span["count"] == _brute_count(run["stream"], trace["ids"][span["start"]:span["end"]])
    _check_occurrences(run, span)
    assert any(o["steps"] for o in span["occurrences"])


def test_text_from_two_documents_gives_one_span_in_each(run: dict) -> None:
    a, b = run["books"][3], run["code"][5]
    first, second = _passage(a, 200, 300), _passage(b, 300, 300)
    trace = _trace(run, first + "\n" + second)
    spans = trace["spans"]
    assert len(spans) == 2
    n_first = len(trace["ids"]) - len(_trace(run, second)["ids"])  # tokens of the first passage (+ newline)
    assert spans[0]["start"] <= 1 and n_first - 3 <= spans[0]["end"] <= n_first + 1
    assert n_first - 1 <= spans[1]["start"] <= n_first + 2 and spans[1]["end"] >= len(trace["ids"]) - 1
    assert a["id"] in {o["doc_id"] for o in spans[0]["occurrences"]}
    assert b["id"] in {o["doc_id"] for o in spans[1]["occurrences"]}
    for span in spans:
        assert span["count"] == _brute_count(run["stream"], trace["ids"][span["start"]:span["end"]])
        _check_occurrences(run, span)


def test_text_absent_from_the_data_gives_no_span(run: dict) -> None:
    trace = _trace(run, ABSENT)
    assert trace["spans"] == []
    ids = trace["ids"]
    assert len(ids) >= 8 and all(_brute_count(run["stream"], ids[i:i + 8]) == 0 for i in range(len(ids) - 7))
    short = _trace(run, ABSENT, "--min-len", "1")["spans"]  # single words do occur, each counted exactly
    assert short and all(s["count"] == _brute_count(run["stream"], ids[s["start"]:s["end"]]) for s in short)


def test_a_stale_index_is_refused(run: dict, capsys: pytest.CaptureFixture) -> None:
    import os

    shard = sorted((run["root"] / "tokens" / "tokens").glob("*.npy"))[0]
    st = shard.stat()
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        assert main(["trace-text", str(run["root"]), "some text"]) == 2
        assert "changed since it was built" in capsys.readouterr().err
    finally:
        os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_run_without_index_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "pretrain").mkdir()
    assert main(["trace-text", str(tmp_path), "some text"]) == 2
    assert "olmo-stack index" in capsys.readouterr().err
