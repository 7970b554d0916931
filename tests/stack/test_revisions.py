"""Revisions of the smoke run (the session's one ``olmo-stack demo --preset smoke``): pretraining
published every 20th step to ``<run>/pretrain/hub``; ``olmo-stack revisions`` lists them with the tokens
the trainer logged; transformers loads the last one by name from ``HF_HOME`` alone, offline, with its
checkpoint's logits; the learning-curve stage scored exactly those revisions and the report shows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false"}
LOADER = """
import json, sys, torch
from transformers import AutoModelForCausalLM
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], revision=sys.argv[2], dtype=torch.float32).eval()
with torch.no_grad():
    print(json.dumps(m(torch.tensor(json.loads(sys.argv[3]))).logits.tolist()))
"""


def _cli(*argv: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "olmo_stack.cli", *argv], env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_revisions_listed_loadable_and_scored(smoke_demo: tuple[Path, float]) -> None:
    from olmo_core.checkpoint.model_io import load_model_checkpoint

    run = smoke_demo[0]
    revs = json.loads(_cli("revisions", str(run), "--json"))
    logged = {r["step"]: r for r in map(json.loads, (run / "pretrain" / "metrics.jsonl").read_text().splitlines())}
    per_step = logged[1]["throughput/tokens_seen"]  # the tokens the trainer logged after its first step
    assert [(r["step"], r["tokens"]) for r in revs] == [(20, 20 * per_step), (40, 40 * per_step)]
    assert [r["revision"] for r in revs] == [f"step{s}-tokens{round(s * per_step / 1000)}k" for s in (20, 40)]
    assert revs[1]["data"]["last_digest"] == logged[40]["data/batch_digest"]
    assert revs[1]["lineage"]["previous_revision"] == revs[0]["revision"]
    listing = _cli("revisions", str(run))
    assert all(r["revision"] in listing for r in revs) and "HF_HOME=" in listing

    last = revs[-1]
    ids = [[50, 2000, 311, 4021, 17, 998, 12, 7, 640, 88]]
    out = subprocess.run([sys.executable, "-c", LOADER, last["repo_id"], last["revision"], json.dumps(ids)],
                         env={**ENV, "HF_HOME": last["hf_home"]}, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert Path(last["hf_home"]) == run / "pretrain"
    model = load_model_checkpoint(run / "pretrain" / "checkpoints" / "step40").eval()
    with torch.no_grad():
        diff = (torch.tensor(json.loads(out.stdout.splitlines()[-1])) - model(torch.tensor(ids))).abs().max().item()
    assert diff < 1e-4, diff

    curve = json.loads((run / "learning_curve" / "manifest.json").read_text())["metrics"]["rows"]
    assert [r["revision"] for r in curve] == [r["revision"] for r in revs]
    assert all(isinstance(r["heldout_ppl"], float) and isinstance(r["arc_easy"], float) for r in curve)
    assert curve[-1]["heldout_ppl"] < curve[0]["heldout_ppl"]  # 20 more steps of training lower it
    report = (run / "report" / "index.html").read_text()
    assert "Learning curve over the revisions" in report and all(r["revision"] in report for r in revs)
