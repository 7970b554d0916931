"""olmo-eval's scores against lm-evaluation-harness itself (``lm-eval[hf]==0.4.13``, its pinned cached
environment from ``tools/bench/eval_throughput.py``, run through a subprocess and files).

A tiny random olmo-core OLMo, exported to an HF folder with olmo-core's ``to_hf``, is scored by
``olmo-eval``'s offline runner (on the olmo-core model) and by lm-eval's HF backend
``HFLM.loglikelihood`` (on the exported folder, float64 softmax) on every request of ARC-Easy,
HellaSwag and one MMLU subject, RC and MC: the same summed log-likelihood per request (within
``TOL`` nats) and, from lm-eval's numbers, the same ``acc`` (argmax) and ``acc_norm`` (per character)
as our ``acc_raw`` and ``acc_per_char``. The prompts themselves are graded against OLMES by hand-written
strings in ``packages/olmo-eval/tests/tasks/test_prompts.py``. Where the peer cannot be installed the
test fails under CI (``CI=true``) and is skipped elsewhere."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tools"), str(REPO / "tools" / "bench")]
import harness  # noqa: E402
from eval_throughput import PEER  # noqa: E402  (one pin for the benchmark and this test)

TOKENIZER = harness.SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
TASKS = ("arc_easy", "arc_easy:mc", "hellaswag", "hellaswag:mc", "mmlu_astronomy", "mmlu_astronomy:mc")
LIMIT = 4
TOL = 2e-4  # fp32 models on both sides; lm-eval's softmax in float64

PEER_SCRIPT = """
import json, sys
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

model, requests, out = sys.argv[1:]
lm = HFLM(pretrained=model, device="cpu", dtype="float32", batch_size=8, softmax_dtype="float64")
pairs = json.load(open(requests))
res = lm.loglikelihood([Instance("loglikelihood", {}, (c, k), i) for i, (c, k) in enumerate(pairs)],
                       disable_tqdm=True)
json.dump([float(r[0]) for r in res], open(out, "w"))
"""


def peer_python() -> Path:
    try:
        return PEER.python
    except (subprocess.CalledProcessError, OSError) as e:
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError(f"peer {PEER.label} is missing and could not be installed under CI: {e}") from e
        pytest.skip(f"peer {PEER.label} could not be installed here ({e}); CI installs it")


def test_offline_scores_equal_lm_eval_hflm(tmp_path: Path) -> None:
    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.convert import to_hf
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_eval.requests import load_compiled
    from olmo_eval.runner import run
    from olmo_eval.tokenizer import load_tokenizer

    python = peer_python()
    cfg = dataclasses.replace(get_model_preset("tiny"), max_sequence_length=2048, d_model=32, n_heads=2,
                              mlp_hidden_size=96)
    torch.manual_seed(0)
    model = OLMo(cfg)
    model.init_weights(1234)
    with torch.no_grad():  # a sharper head than random init gives, so answers are clear-cut
        model.lm_head.weight.mul_(20.0)
    hf_dir = to_hf(save_model_checkpoint(model.float(), tmp_path / "ckpt"), tmp_path / "hf", tokenizer=TOKENIZER)

    out = tmp_path / "ours"
    metrics = run(model, load_tokenizer(TOKENIZER), list(TASKS), out, limit=LIMIT, show_progress=False)
    ours, pairs, layout = [], [], {}
    for name in TASKS:
        task = load_compiled(out / "requests" / f"{name}.jsonl.gz")
        with gzip.open(out / "predictions" / f"{name}.jsonl.gz", "rt") as f:
            rows = {r["index"]: r for r in map(json.loads, f)}
        for r in task.requests:
            ours.append(rows[r.instance]["uncond_logprobs" if r.uncond else "logprobs"][r.choice])
            pairs.append((r.context, r.continuation))
            if not r.uncond:
                layout.setdefault(name, {}).setdefault(r.instance, []).append((len(pairs) - 1, len(r.continuation)))
        layout[name] = [(rows[i]["gold"], layout[name][i]) for i in sorted(layout[name])]
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    proc = subprocess.run([str(python), "-c", PEER_SCRIPT, str(hf_dir), str(tmp_path / "pairs.json"),
                           str(tmp_path / "theirs.json")], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads((tmp_path / "theirs.json").read_text())

    assert len(theirs) == len(ours) == len(pairs) > 0
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    print(f"{len(pairs)} requests, largest log-likelihood difference to lm-eval {worst:.2e}")
    assert ours == pytest.approx(theirs, abs=TOL)
    for name in TASKS:  # lm-eval's acc and acc_norm, from its own log-likelihoods
        acc = acc_norm = 0
        for gold, choices in layout[name]:
            lls = [theirs[i] for i, _ in choices]
            norm = [theirs[i] / n for i, n in choices]
            for scores in (lls, norm):
                best = sorted(scores, reverse=True)
                assert best[0] - best[1] > 10 * TOL, (name, scores)  # no decision within the tolerance
            acc += lls.index(max(lls)) == gold
            acc_norm += norm.index(max(norm)) == gold
        got = metrics["tasks"][name]["metrics"]
        assert got["acc_raw"] == pytest.approx(acc / LIMIT) and got["acc_per_char"] == pytest.approx(acc_norm / LIMIT)
