"""The console commands end to end: an olmo-core checkpoint and a HF folder, scored through
``olmo-eval run`` / ``perplexity``; HF log-likelihoods checked against transformers directly."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import shutil

import pytest
import torch
from conftest import TOKENIZER

from olmo_eval.cli import main


@pytest.fixture(scope="module")
def olmo_checkpoint(tmp_path_factory):
    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo

    cfg = dataclasses.replace(get_model_preset("tiny"), max_sequence_length=256, d_model=32, n_heads=2,
                              mlp_hidden_size=96)
    model = OLMo(cfg)
    model.init_weights(7)
    path = tmp_path_factory.mktemp("ckpt") / "step0"
    save_model_checkpoint(model, path)
    return path


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    from transformers import OlmoConfig, OlmoForCausalLM

    torch.manual_seed(0)
    cfg = OlmoConfig(vocab_size=50304, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=2, max_position_embeddings=256, eos_token_id=50279, pad_token_id=1)
    model = OlmoForCausalLM(cfg)
    path = tmp_path_factory.mktemp("hf") / "tiny-olmo"
    model.save_pretrained(path)
    shutil.copy(TOKENIZER, path / "tokenizer.json")
    return path


def test_run_olmo_core_checkpoint(olmo_checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "eval"
    assert main(["run", "--model", str(olmo_checkpoint), "--tokenizer", str(TOKENIZER), "--tasks",
                 "arc_easy,mmlu_anatomy:mc,mmlu_astronomy:mc", "--limit", "3", "--num-shots", "1",
                 "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["tasks"]) == {"arc_easy", "mmlu_anatomy:mc", "mmlu_astronomy:mc"}
    assert metrics["groups"]["mmlu:mc"]["num_tasks"] == 2
    assert "arc_easy" in capsys.readouterr().out
    with gzip.open(out / "predictions" / "arc_easy.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 3 and len(rows[0]["logprobs"]) == 4 and "uncond_logprobs" in rows[0]
    # rerun: finished tasks are skipped and reported unchanged
    before = (out / "results" / "arc_easy.json").stat().st_mtime_ns
    assert main(["run", "--model", str(olmo_checkpoint), "--tokenizer", str(TOKENIZER), "--tasks", "arc_easy",
                 "--limit", "3", "--num-shots", "1", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert (out / "results" / "arc_easy.json").stat().st_mtime_ns == before



def test_a_checkpoint_replaced_in_place_is_scored_again(olmo_checkpoint, tmp_path) -> None:
    """Finished results are reused only for the same model: a folder retrained in place (same path,
    other weights) or scored in another dtype is scored again, never reported with the old figures."""
    from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint

    ckpt, out = tmp_path / "ckpt", tmp_path / "eval"
    shutil.copytree(olmo_checkpoint, ckpt)
    argv = ["run", "--model", str(ckpt), "--tokenizer", str(TOKENIZER), "--tasks", "arc_easy", "--limit", "3",
            "--num-shots", "1", "--out", str(out), "--no-progress", "--device", "cpu"]

    def logprobs() -> list:
        with gzip.open(out / "predictions" / "arc_easy.jsonl.gz", "rt") as f:
            return [json.loads(line)["logprobs"] for line in f]

    assert main(argv) == 0
    first = logprobs()
    model = load_model_checkpoint(str(ckpt))
    model.init_weights(8)  # "retrained": other weights, same folder
    shutil.rmtree(ckpt)
    save_model_checkpoint(model, ckpt)
    assert main(argv) == 0
    second = logprobs()
    assert second != first, "the old model's results were reused for new weights"
    assert main([*argv, "--dtype", "bfloat16"]) == 0
    assert logprobs() != second, "float32 results were reused for a bfloat16 run"

def test_run_hf_folder_matches_transformers(hf_folder, tmp_path) -> None:
    from transformers import AutoModelForCausalLM

    from olmo_eval.tokenizer import encode_pairs, load_tokenizer

    out = tmp_path / "eval"
    assert main(["run", "--model", str(hf_folder), "--tasks", "copa,hellaswag", "--limit", "2", "--num-shots", "0",
                 "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    with gzip.open(out / "requests" / "copa.jsonl.gz", "rt") as f:
        lines = [json.loads(line) for line in f][1:]
    reqs = [x["request"] for x in lines if "request" in x and not x["request"]["uncond"]]
    with gzip.open(out / "predictions" / "copa.jsonl.gz", "rt") as f:
        preds = [json.loads(line) for line in f]
    ref = AutoModelForCausalLM.from_pretrained(hf_folder).eval()
    tok = load_tokenizer(hf_folder)
    for r in reqs:
        (ctx, cont), = encode_pairs(tok, [(r["context"], r["continuation"])], 50279)
        ids = torch.tensor([ctx + cont])
        with torch.no_grad():
            lp = torch.log_softmax(ref(ids).logits[0, :-1].double(), -1)
        expected = sum(float(lp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont))
        assert preds[r["instance"]]["logprobs"][r["choice"]] == pytest.approx(expected, abs=1e-4)


def test_perplexity_command(hf_folder, ppl_root, tmp_path) -> None:
    out = tmp_path / "ppl"
    assert main(["perplexity", "--model", str(hf_folder), "--data", str(ppl_root), "--out", str(out),
                 "--max-docs", "1", "--no-progress", "--device", "cpu"]) == 0
    result = json.loads((out / "perplexity.json").read_text())
    assert len(result["subdomains"]) == 4 and result["overall"]["num_documents"] == 4
    sub = result["subdomains"]["books/part_a"]
    assert sub["ppl"] == pytest.approx(math.exp(sub["nll_sum"] / sub["num_tokens"]), rel=1e-12)
