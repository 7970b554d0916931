"""The pipeline's ``trace`` stage on the session's smoke demo: its prompts are the openings of training
documents, its continuations are what the pretrained checkpoint generates greedily, and the spans it
reports are exactly the maximal runs of at least ``min_len`` generated tokens found verbatim in the
training tokens, checked by a NumPy sliding-window search over the shards pretraining read (not by the
index the stage used); the report carries the section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from olmo_stack.pipeline.config import PRESETS


def _occurs(stream: np.ndarray, ids: list[int]) -> int:
    if len(ids) > len(stream):
        return 0
    windows = np.lib.stride_tricks.sliding_window_view(stream, len(ids))
    return int((windows == np.asarray(ids)).all(axis=1).sum())


def _brute_maximal_spans(stream: np.ndarray, ids: list[int], min_len: int, eos: int) -> list[tuple[int, int, int]]:
    """(start, end, count) of each maximal run of ``ids`` occurring verbatim, not crossing EOS."""
    best_end = []
    for a in range(len(ids)):
        b = a
        while b < len(ids) and ids[b] != eos and _occurs(stream, ids[a:b + 1]):
            b += 1
        best_end.append(b)
    spans = []
    for a, b in enumerate(best_end):
        if b - a >= min_len and (a == 0 or best_end[a - 1] < b):  # not inside the previous start's match
            spans.append((a, b, _occurs(stream, ids[a:b])))
    return spans


def test_trace_stage_reports_exactly_the_verbatim_spans(smoke_demo: tuple[Path, float]) -> None:
    from olmo_core.checkpoint.manager import latest_checkpoint
    from olmo_core.data.tokens import TokenDataset
    from olmo_eval.models import load_model

    run, _ = smoke_demo
    cfg = PRESETS["smoke"]().trace
    manifest = json.loads((run / "trace" / "manifest.json").read_text())
    rows = json.loads(Path(manifest["outputs"]["traces"]).read_text())
    assert len(rows) == cfg.prompts == manifest["metrics"]["prompts"]

    paths = json.loads((run / "pretrain" / "config.json").read_text())["data"]["paths"]
    ds = TokenDataset(paths)
    stream = ds.tokens(0, ds.num_tokens)
    doc_starts = {int(off + s) for off, sh in zip(ds.offsets[:-1], ds.shards) for s in sh.starts}
    model, _ = load_model(latest_checkpoint(run / "pretrain"))
    spans_total = 0
    for row in rows:
        prompt_ids = row["prompt_ids"]
        assert len(prompt_ids) == cfg.prompt_tokens
        hits = [p for p in doc_starts if list(stream[p:p + cfg.prompt_tokens]) == prompt_ids]
        assert hits, f"prompt {row['prompt']!r} is not the opening of a training document"
        # the continuation is the checkpoint's own greedy output
        assert row["ids"] == model.generate([prompt_ids], cfg.max_new_tokens)[0]
        want = _brute_maximal_spans(stream, row["ids"], cfg.min_len, ds.eos_id)
        got = [(s["start"], s["end"], s["count"]) for s in row["spans"]]
        assert got == want
        spans_total += len(got)
    assert manifest["metrics"]["spans"] == spans_total
    html = (run / "report" / "index.html").read_text()
    assert "What the model echoes of its training data" in html
