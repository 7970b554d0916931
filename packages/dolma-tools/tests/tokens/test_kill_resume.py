"""A tokenization run killed with SIGKILL resumes without duplicating or losing a document, and its
result is byte-identical to a run that was never interrupted."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import zstandard

from dolma_tools.interfaces import read_tokens_sidecar
from dolma_tools.tokens import tokenize_files

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


def test_killed_run_resumes_exactly(tmp_path: Path) -> None:
    docs = []
    with open(SHARED / "corpus/kernel_docs/kernel_docs-0000.jsonl.zst", "rb") as f:
        for line, _ in zip(io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8"),
                           range(60), strict=False):
            docs.append(json.loads(line))
    src = tmp_path / "docs"
    src.mkdir()
    for k in range(12):
        (src / f"f{k:02d}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs[k * 5:(k + 1) * 5]))
    out = tmp_path / "out"
    env = {**os.environ, "DOLMA_TOOLS_UNIT_DELAY": "0.3"}  # widen the gap between units so the kill lands mid-run
    proc = subprocess.Popen([sys.executable, "-m", "dolma_tools.cli", "tokens", "--documents", str(src),
                             "--destination", str(out), "--tokenizer", str(TOKENIZER), "--processes", "2",
                             "--max-tokens-per-file", "20000", "--no-progress"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list((out / ".work").glob("*.rows.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / ".work").glob("*.rows.json")))
    assert not (out / "summary.json").exists() and done_before < 12

    resumed = tokenize_files(src, out, tokenizer=TOKENIZER, max_tokens_per_file=20000, processes=1)
    assert resumed["units_reused"] >= done_before - 1 >= 2  # a child may finish one more unit after the kill
    fresh = tokenize_files(src, tmp_path / "fresh", tokenizer=TOKENIZER, max_tokens_per_file=20000)

    ids = []
    for shard in sorted(out.glob("part-*.npy")):
        ids += [r[2] for r in read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))[1]]
    assert ids == [d["id"] for d in docs]  # nothing lost, nothing twice, input order
    names = sorted(p.name for p in out.glob("part-*"))
    assert names == sorted(p.name for p in (tmp_path / "fresh").glob("part-*"))
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()
    assert resumed["tokens"] == fresh["tokens"] and not list(out.glob("**/*.tmp-*"))
