"""The whole release in one command (``olmo-stack demo --preset smoke``) end to end, and its MoE variant.
Killed and resumed: tests/chaos/test_chaos_demo.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false"}


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "olmo_stack.cli", "demo", "--preset", "smoke", "--out", str(out)]


def _manifest(run: Path, stage: str) -> dict:
    return json.loads((run / stage / "manifest.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(smoke_demo: tuple[Path, float]) -> Path:
    return smoke_demo[0]  # one uninterrupted smoke run per session (tests/conftest.py)


def test_smoke_run_end_to_end(uninterrupted: Path) -> None:
    run = uninterrupted
    for stage in ("filter", "decontaminate", "tokens", "pretrain", "eval_base", "tasks", "sft", "onpolicy", "dpo", "grpo",
                  "eval_verified", "eval_adapted", "export"):
        assert (run / stage / "manifest.json").is_file(), f"stage {stage} has no manifest"
    dropped = _manifest(run, "decontaminate")["metrics"]["dropped"]
    assert sorted(d["id"] for d in dropped) == ["planted-0", "planted-1", "planted-2"], dropped
    hist = _manifest(run, "pretrain")["metrics"]["inloop_history"]
    ppl = [h["inloop/ppl/overall/micro_ppl"] for h in hist]
    assert hist[0]["step"] == 0 and ppl[-1] < 0.5 * ppl[0], f"held-out perplexity did not fall enough: {ppl}"
    # the adaptation path: pairs from the SFT model's samples, DPO on them, GRPO from DPO, all judged on the
    # same held-out tasks (the gain itself: tests/stack/test_adaptation_gain.py)
    pairs = _manifest(run, "onpolicy")["metrics"]
    assert pairs["pairs"] > 0 and pairs["samples"] == pairs["prompts"] * 4
    assert _manifest(run, "dpo")["metrics"]["units"] == pairs["pairs"]
    assert _manifest(run, "grpo")["metrics"]["steps"] == 3
    verified = _manifest(run, "eval_verified")["metrics"]
    assert set(verified["accuracy"]) == {"pretrained", "sft", "dpo", "grpo"} and verified["examples"] == 60
    assert set(verified["paired"]) == {"pretrained->sft", "sft->dpo", "dpo->grpo", "sft->grpo"}
    assert _manifest(run, "export")["metrics"]["checkpoint"] == _manifest(run, "grpo")["metrics"]["checkpoint"]
    assert (run / "export" / "hf" / "config.json").is_file()
    report = (run / "report" / "index.html").read_text()
    for section in ("Data funnel", "Pretraining", "Evaluation", "SFT", "On-policy preferences", "DPO", "GRPO",
                    "Adaptation on verifiable tasks", "Export and lineage"):
        assert section in report
    lineage = subprocess.run([sys.executable, "-m", "olmo_stack.cli", "lineage", str(run / "export" / "hf")],
                             env=ENV, capture_output=True, text=True, check=True).stdout
    assert "raw input:" in lineage and "books-0000.jsonl.zst" in lineage and "manpages-0000.jsonl.zst" in lineage
    trace = subprocess.run([sys.executable, "-m", "olmo_stack.cli", "trace", "--run", str(run), "--step", "3"],
                           env=ENV, capture_output=True, text=True)
    assert trace.returncode == 0 and "OK" in trace.stdout, trace.stdout + trace.stderr


def test_moe_variant_routes_and_exports(tmp_path: Path) -> None:
    out = tmp_path / "moe"
    proc = subprocess.run([*_cmd(out), "--moe"], env=ENV, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    routing = json.loads((out / "routing" / "analysis.json").read_text())
    assert "router_saturation" in routing and "coactivation" in routing
    for name in ("saturation", "coactivation", "domain_specialization", "vocabulary_specialization"):
        assert (out / "routing" / f"{name}.png").is_file()
    assert _manifest(out, "export")["metrics"]["hf_class"] == "OlmoeForCausalLM"
    assert "Routing (MoE)" in (out / "report" / "index.html").read_text()
