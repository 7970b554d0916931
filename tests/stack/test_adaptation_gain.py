"""Issue 20's claim, at a size CI affords: on held-out procedural tasks, verified accuracy rises at each
adaptation stage, SFT -> on-policy DPO -> GRPO, each step significant by a paired (exact McNemar) test
at p < 0.01.

The stack's own adaptation stages run once (``olmo-stack run smoke ... --until eval_verified``) from the
pretrained model of the session's smoke run (tests/conftest.py: data and pretraining are reused, not
redone), on three task families with the demo's adaptation settings and fewer examples and steps
(``GAIN``). The held-out tasks are disjoint from the training ones by construction
(``open_instruct.tasks``); accuracy is the share of greedy answers the tasks' own verifiers accept.

What holds today is tested as such: SFT learns the tasks (measured here: pretrained 0.000 -> SFT 0.080,
24 gained, 0 lost, p = 1.2e-7). The rise SFT -> DPO -> GRPO does not hold at CPU size (measured here:
DPO 0.080, unchanged; GRPO 0.033, p = 0.0094 the wrong way; DPO on the SFT model's verified-vs-failed
pairs lowers held-out accuracy at lr >= 2e-4: the root README's "Adaptation on verifiable tasks"), so
that test is a strict expected failure: it still runs and asserts the claim, and turns into an error
(XPASS) the day the claim holds, when the marker must go."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false"}
REUSED = ("filter", "decontaminate", "tokens", "pretrain", "learning_curve", "trace", "eval_base")
#: CI size: 3 families x 1,000 training tasks (one SFT epoch, 93 steps), 300 on-policy prompts x 4 samples,
#: 12 GRPO steps of 8 prompts x 4 samples, 300 held-out tasks
GAIN = [
    "adapt.tasks.families=[counting,sorting,units]", "adapt.tasks.train_per_family=1000",
    "adapt.tasks.heldout_per_family=100", "adapt.onpolicy.prompts=300", "adapt.onpolicy.gold_when_all_fail=false",
    "adapt.onpolicy.max_new_tokens=24", "adapt.eval.max_new_tokens=24", "adapt.grpo.limit=96",
]


@pytest.fixture(scope="module")
def adapted(smoke_demo: tuple[Path, float], tmp_path_factory: pytest.TempPathFactory) -> Path:
    base, _ = smoke_demo
    run = tmp_path_factory.mktemp("gain") / "run"
    for stage in REUSED:
        shutil.copytree(base / stage, run / stage)
    proc = subprocess.run([sys.executable, "-m", "olmo_stack.cli", "run", "smoke", f"out={run}", *GAIN,
                           "--until", "eval_verified"], env=ENV, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[skip] pretrain" in proc.stdout, "the smoke run's pretraining should have been reused"
    return run


def _metrics(run: Path, stage: str) -> dict:
    return json.loads((run / stage / "manifest.json").read_text())["metrics"]


def _show(m: dict) -> None:
    for fam, accs in [*m["families"].items(), ("all", m["accuracy"])]:
        print(fam, {k: round(accs[k], 3) for k in ("pretrained", "sft", "dpo", "grpo")})
    for key, p in m["paired"].items():
        print(f"{key}: {p['delta']:+.3f} ({p['gained']} gained, {p['lost']} lost, McNemar p = {p['p_value']:.2g})")


def test_sft_learns_the_held_out_tasks(adapted: Path) -> None:
    m = _metrics(adapted, "eval_verified")
    _show(m)
    assert m["examples"] == 300 and set(m["families"]) == {"counting", "sorting", "units"}
    p = m["paired"]["pretrained->sft"]
    assert m["accuracy"]["sft"] > m["accuracy"]["pretrained"] and p["gained"] > p["lost"] and p["p_value"] < 0.01, p
    # the bookkeeping: gained - lost is the accuracy difference over the same examples
    for key, q in m["paired"].items():
        a, b = key.split("->")
        assert q["gained"] - q["lost"] == round((m["accuracy"][b] - m["accuracy"][a]) * m["examples"])
    # DPO trained on pairs of the SFT model's own samples, each a verified one against a failed one
    pairs = _metrics(adapted, "onpolicy")
    assert pairs["pairs"] == pairs["mixed"] > 0 and 0 < pairs["sample_accuracy"] < 1
    assert _metrics(adapted, "dpo")["units"] == pairs["pairs"]


@pytest.mark.xfail(strict=True, reason="issue 20's gain is not reached at CPU size: DPO on on-policy pairs "
                                       "lowers or keeps held-out accuracy (root README, 'Adaptation on verifiable tasks')")
def test_accuracy_rises_sft_dpo_grpo(adapted: Path) -> None:
    m = _metrics(adapted, "eval_verified")
    acc, paired = m["accuracy"], m["paired"]
    assert acc["sft"] < acc["dpo"] < acc["grpo"], acc
    for key in ("sft->dpo", "dpo->grpo"):
        assert paired[key]["p_value"] < 0.01 and paired[key]["gained"] > paired[key]["lost"], (key, paired[key])
