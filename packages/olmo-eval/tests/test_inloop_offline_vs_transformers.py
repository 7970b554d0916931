"""In-loop = offline, against an independent scorer: the same tasks scored through ``transformers``.

A tiny random olmo-core OLMo is exported to an HF folder (olmo-core's ``to_hf``) and loaded with
``AutoModelForCausalLM``. The scorer below shares nothing with olmo-eval's request, tokenizer,
scoring or metrics code: from each task's processed documents (query, choices, gold) and few-shot
examples it builds the prompt strings itself, tokenizes them with the exported ``transformers``
tokenizer (lm-eval's context/continuation split written out), runs one HF forward per request, sums
the continuation tokens' log-probs and applies the four normalizations. The offline runner and the
in-loop evaluator (which compiles the tasks itself: no request files) must both agree with it on
every log-likelihood (within ``LOGPROB_TOL`` nats) and on every chosen answer and accuracy, for
ARC-Easy, HellaSwag and MMLU (one subject), each in its RC and MC formats; and on every document's
perplexity NLL (Paloma's windows written out again here)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math

import pytest
import torch
from conftest import TOKENIZER

from olmo_core.model.transformer import OLMo
from olmo_eval.inloop import InLoopEvaluator
from olmo_eval.runner import run
from olmo_eval.tasks import get_task

TASKS = ("arc_easy", "arc_easy:mc", "hellaswag", "hellaswag:mc", "mmlu_astronomy", "mmlu_astronomy:mc")
LIMIT = 8
#: olmo-core and HF run the same fp32 math in a different op order; summed over a continuation's
#: tokens the log-probs agree to 5e-5 nats (measured), 2e-4 leaves room across platforms
LOGPROB_TOL = 2e-4


@pytest.fixture(scope="module")
def models(tmp_path_factory, tokenizer):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.convert import to_hf
    from olmo_core.model.presets import get_model_preset


    # A window long enough for every 5-shot prompt here, so neither side truncates (asserted below).
    cfg = dataclasses.replace(get_model_preset("tiny"), max_sequence_length=2048, d_model=32, n_heads=2,
                              mlp_hidden_size=96)
    torch.manual_seed(0)
    model = OLMo(cfg)
    model.init_weights(1234)
    with torch.no_grad():  # random init gives near-uniform logits; a sharper head makes choices clear-cut
        model.lm_head.weight.mul_(20.0)
    model = model.float()
    root = tmp_path_factory.mktemp("export")
    to_hf(save_model_checkpoint(model, root / "ckpt"), root / "hf", tokenizer=TOKENIZER)
    hf = AutoModelForCausalLM.from_pretrained(str(root / "hf"), dtype=torch.float32, local_files_only=True).eval()
    hf_tok = AutoTokenizer.from_pretrained(str(root / "hf"), local_files_only=True)
    return model, hf, hf_tok


# -- the independent scorer ------------------------------------------------------------------------
def hf_pair(tok, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's ``_encode_pair``: trailing context spaces go to the continuation; the pair is encoded
    whole and the context's tokens are cut off its front."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tok(context, add_special_tokens=False)["input_ids"]
    return ctx, whole[len(ctx):]


@torch.no_grad()
def hf_logprob(hf, tok, context: str, continuation: str) -> tuple[float, int]:
    ctx, cont = hf_pair(tok, context, continuation)
    ids = torch.tensor([ctx + cont])
    assert ids.shape[1] <= hf.config.max_position_embeddings  # no truncation on either side
    # the logits that predict the continuation's tokens: the last len(cont) positions of ids[:-1]
    logits = hf(ids[:, :-1], logits_to_keep=len(cont)).logits[0]
    logp = torch.log_softmax(logits.double(), dim=-1)
    return float(logp.gather(-1, torch.tensor(cont)[:, None]).sum()), len(cont)


def reference_scores(hf, tok, name: str) -> list[dict]:
    """Per instance: gold, per-choice log-probs (and PMI denominators), predictions per normalization."""
    task = get_task(name, limit=LIMIT)
    desc = task.description()
    head = (f"{desc}\n\n" if desc else "") + "".join(f"{q}{t}\n\n" for q, t in task.shots())
    rows = []
    for p in task.processed():
        assert p.contexts is None  # these tasks put the choices in the continuation
        conts = [" " + c for c in p.choices]
        scored = [hf_logprob(hf, tok, head + p.query, c) for c in conts]
        lp = [s for s, _ in scored]
        by = {"raw": lp, "per_token": [s / n for s, n in scored],
              "per_char": [s / len(c) for s, c in zip(lp, conts)]}
        row = {"gold": p.gold, "logprobs": lp}
        if task.config.uncond_prompt is not None:
            row["uncond_logprobs"] = [hf_logprob(hf, tok, task.config.uncond_prompt, c)[0] for c in conts]
            by["uncond"] = [a - b for a, b in zip(lp, row["uncond_logprobs"])]
        for norm, s in by.items():
            best = max(range(len(s)), key=lambda i: (s[i], -i))  # the first argmax
            row[f"pred_{norm}"] = best
            # the chosen answer must not hinge on the tolerance
            assert all(abs(s[best] - v) > 10 * LOGPROB_TOL for i, v in enumerate(s) if i != best), (name, norm, s)
        gold_bytes = len(conts[p.gold].encode("utf-8"))
        row["bits_per_byte"] = -lp[p.gold] / (gold_bytes * math.log(2))
        rows.append(row)
    return rows


def check_against_reference(name: str, got_rows: list[dict], got_metrics: dict, ref: list[dict]) -> None:
    assert len(got_rows) == len(ref) == LIMIT, name
    for got, want in zip(got_rows, ref):
        assert got["gold"] == want["gold"], name
        assert got["logprobs"] == pytest.approx(want["logprobs"], abs=LOGPROB_TOL), name
        assert ("uncond_logprobs" in got) == ("uncond_logprobs" in want), name
        if "uncond_logprobs" in want:
            assert got["uncond_logprobs"] == pytest.approx(want["uncond_logprobs"], abs=LOGPROB_TOL), name
        for key in (k for k in want if k.startswith("pred_")):
            assert got[key] == want[key], (name, key)
    for key in (k for k in ref[0] if k.startswith("pred_")):
        acc = sum(r[key] == r["gold"] for r in ref) / len(ref)
        assert got_metrics["acc_" + key.removeprefix("pred_")] == pytest.approx(acc, abs=1e-12), (name, key)
    bpb = sum(r["bits_per_byte"] for r in ref) / len(ref)
    assert got_metrics["bits_per_byte"] == pytest.approx(bpb, rel=1e-4), name


def test_offline_and_inloop_match_transformers(models, tokenizer, tmp_path) -> None:
    model, hf, hf_tok = models
    ref = {name: reference_scores(hf, hf_tok, name) for name in TASKS}

    out = tmp_path / "offline"
    offline = run(model, tokenizer, list(TASKS), out, limit=LIMIT, show_progress=False)
    for name in TASKS:
        with gzip.open(out / "predictions" / f"{name}.jsonl.gz", "rt") as f:
            rows = [json.loads(line) for line in f]
        check_against_reference(name, rows, offline["tasks"][name]["metrics"], ref[name])

    # In-loop on the training module itself, tasks compiled by the evaluator (no offline files read).
    evaluator = InLoopEvaluator(tokenizer, ",".join(TASKS), limit=LIMIT, every_n_steps=1)
    model.train()
    logged = evaluator.evaluate(model)
    assert model.training
    for name in TASKS:
        result = evaluator.last_results[name]
        check_against_reference(name, result.instances, result.metrics, ref[name])
        assert logged[f"eval/{name}/primary"] == pytest.approx(
            sum(r["pred_" + result.primary_metric.removeprefix("acc_")] == r["gold"] for r in ref[name]) / LIMIT)


@torch.no_grad()
def hf_document_nll(hf, tok, text: str, window: int) -> tuple[float, int]:
    """Paloma's rule written out: ``[EOS] + tokens`` in non-overlapping windows, each token predicted
    once from the tokens before it in its window."""
    seq = [hf.config.eos_token_id, *tok(text, add_special_tokens=False)["input_ids"]]
    nll = 0.0
    for start in range(0, len(seq) - 1, window):
        chunk = torch.tensor([seq[start:start + window + 1]])
        logp = torch.log_softmax(hf(chunk[:, :-1]).logits[0].double(), dim=-1)
        nll -= float(logp.gather(-1, chunk[0, 1:, None]).sum())
    return nll, len(seq) - 1


def test_perplexity_offline_and_inloop_match_transformers(models, tokenizer, ppl_root, tmp_path) -> None:
    from olmo_eval.perplexity import load_documents, run_perplexity

    model, hf, hf_tok = models
    # the same weights with a 256-token window, so every document spans several windows
    short = OLMo(dataclasses.replace(model.config, max_sequence_length=256))
    short.load_state_dict(model.state_dict())
    window = 256
    ref = {(d.source, d.subdomain, d.id): hf_document_nll(hf, hf_tok, d.text, window)
           for d in load_documents(ppl_root)}
    assert sum(n > 2 * window for _, n in ref.values()) >= 4, ref  # most documents span 3+ windows

    offline = run_perplexity(short.float(), tokenizer, ppl_root, tmp_path / "ppl", show_progress=False)
    evaluator = InLoopEvaluator(tokenizer, None, perplexity_dir=ppl_root)
    evaluator.evaluate(short)
    for result in (offline, evaluator.last_perplexity):
        assert len(result["documents"]) == len(ref) == 8
        for doc in result["documents"]:
            nll, n = ref[(doc["source"], doc["subdomain"], doc["id"])]
            assert doc["num_tokens"] == n
            assert doc["nll"] == pytest.approx(nll, rel=1e-6, abs=1e-3)
        for sub, m in result["subdomains"].items():
            source, subdomain = sub.split("/")
            docs = [v for k, v in ref.items() if k[:2] == (source, subdomain)]
            want = math.exp(sum(v[0] for v in docs) / sum(v[1] for v in docs))
            assert m["ppl"] == pytest.approx(want, rel=1e-6), sub
