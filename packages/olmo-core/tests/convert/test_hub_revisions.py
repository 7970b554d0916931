"""Revisions in a local hub cache: a short real training run publishes every 3rd-step checkpoint, and
transformers (the independent reader), with only ``HF_HOME`` and ``HF_HUB_OFFLINE=1``, loads each one by
its OLMo-style name and gives the logits of the checkpoint it came from; huggingface_hub's own cache
scanner sees the same refs. A kill between a revision's snapshot and its ref leaves it unlisted, and the
resumed run publishes it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from conftest import run_overrides

from olmo_core.convert.hub_revisions import list_revisions, revision_name, tokens_label

REPO = "test-org/tiny"
LOADER = """
import json, sys, torch
from transformers import AutoModelForCausalLM
ids = torch.tensor(json.loads(sys.argv[2]))
out = {}
for rev in sys.argv[3:]:
    m = AutoModelForCausalLM.from_pretrained(sys.argv[1], revision=rev, dtype=torch.float32).eval()
    with torch.no_grad():
        out[rev] = m(ids).logits.tolist()
print(json.dumps(out))
"""


def test_token_labels_match_olmo_published_revision_names() -> None:
    # allenai/OLMo-1B and OLMo-7B-Twin-2T (4,194,304 tokens a step) and OLMo-7B (2160 x 2048 a step):
    # names as published in their revisions.txt
    for step, per_step, name in [(20000, 4_194_304, "step20000-tokens84B"), (117850, 4_194_304, "step117850-tokens494B"),
                                 (2000, 4_194_304, "step2000-tokens8B"), (24000, 4_194_304, "step24000-tokens101B"),
                                 (2000, 4_423_680, "step2000-tokens9B"), (6000, 4_423_680, "step6000-tokens27B"),
                                 (556000, 4_423_680, "step556000-tokens2460B")]:
        assert revision_name(step, step * per_step) == name
    assert revision_name(50, 50 * 8 * 256) == "step50-tokens102k"
    assert [tokens_label(n) for n in (0, 999, 1499, 1500, 2_600_000)] == ["0", "999", "1k", "2k", "3M"]


def _train(tokens: Path, run_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    overrides = [*run_overrides(tokens, run_dir), "trainer.checkpoint.keep_last=5"]
    code = ("import sys\nfrom olmo_core.config.load import run_preset\n"
            "cfg = run_preset('tiny', sys.argv[1:])\n"
            f"cfg.trainer.callbacks['hub_revisions'] = {{'every': 3, 'repo_id': '{REPO}'}}\n"
            "cfg.build().fit()\n")
    return subprocess.run([sys.executable, "-c", code, *overrides], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300, start_new_session=True)


def test_revisions_load_offline_in_transformers_with_checkpoint_logits(corpus_tokens: Path, tmp_path: Path) -> None:
    from olmo_core.checkpoint.model_io import load_model_checkpoint

    run_dir = tmp_path / "run"
    # killed the 2nd time a revision is about to get its ref (step 6): step 3 is listed, step 6 is not
    killed = _train(corpus_tokens, run_dir, {"OLMO_STACK_FAULT": "revisions.before_ref:2"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert [r.name for r in list_revisions(run_dir / "hub", REPO)] == ["step3-tokens384"]
    done = _train(corpus_tokens, run_dir)  # resumes from the step-6 checkpoint
    assert done.returncode == 0, done.stderr[-2000:]

    revs = list_revisions(run_dir / "hub", REPO)
    assert [p.name for p in (run_dir / "hub").rglob("*") if ".tmp-" in p.name] == []  # nothing half-written left
    # 4 x 32 tokens a step; the final checkpoint (step 8) is published too
    assert [(r.name, r.step, r.tokens) for r in revs] == [
        ("step3-tokens384", 3, 384), ("step6-tokens768", 6, 768), ("step8-tokens1k", 8, 1024)]

    import huggingface_hub

    cache = huggingface_hub.scan_cache_dir(run_dir / "hub")
    (repo,) = cache.repos
    assert repo.repo_id == REPO
    assert {ref for r in repo.revisions for ref in r.refs} == {r.name for r in revs} | {"main"}

    ids = [[50, 2000, 311, 4021, 17, 998, 12, 7], [1000, 4, 9, 33000, 271, 5, 88, 640]]
    env = {**os.environ, "HF_HOME": str(run_dir), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", LOADER, REPO, json.dumps(ids), *[r.name for r in revs]],
                         env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    hf_logits = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    digests = {r["step"]: r["data/batch_digest"] for r in rows}
    worst = 0.0
    for rev in revs:
        model = load_model_checkpoint(run_dir / "checkpoints" / f"step{rev.step}").eval()
        with torch.no_grad():
            ours = model(torch.tensor(ids))
        diff = (torch.tensor(hf_logits[rev.name]) - ours).abs().max().item()
        worst = max(worst, diff)
        assert diff < 1e-4, (rev.name, diff)
        # the card: step, tokens and the digest chain of the steps the model saw, as metrics.jsonl logged them
        chain = ""
        for s in range(1, rev.step + 1):
            chain = hashlib.sha256((chain + digests[s]).encode()).hexdigest()
        assert rev.card["data"]["chain"] == chain and rev.card["data"]["last_digest"] == digests[rev.step]
        readme = (rev.path / "README.md").read_text()
        assert f"step {rev.step}" in readme and f"{rev.tokens:,} tokens seen" in readme and chain in readme
        assert rev.card["lineage"]["checkpoint"].endswith(f"step{rev.step}")
    assert revs[1].card["lineage"]["previous_revision"] == "step3-tokens384"
    print(f"max |logit diff| transformers vs checkpoint over {len(revs)} revisions: {worst:.2e}")
