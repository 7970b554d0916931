"""Fuzzed inputs against the commands that read a model or its data: olmo-eval (run, perplexity,
generate, decontaminate), olmoe (analyze, upcycle, convert), open-instruct (pref-acc, sft, dpo).

The inputs are real: a tiny olmo-core checkpoint (its config.json, manifest.json and
model.safetensors), corpus documents, and chat and preference examples from ../shared/data/instruct.
A mutated checkpoint file is re-sealed (its manifest rewritten) so the damage reaches the reader and
not only the manifest check, which test_checkpoints.py covers."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import torch

from olmo_core.checkpoint.manifest import write_manifest
from olmo_core.checkpoint.model_io import save_model_checkpoint
from olmo_core.model.config import ModelConfig

from .conftest import SEED, SHARED, first_lines
from .harness import Case, finish, run_case
from .mutate import json_lines_valid, mutants

CKPT_FILES = ("config.json", "model.safetensors", "manifest.json")


def _model_config(**kw: object) -> ModelConfig:
    return ModelConfig(d_model=32, n_layers=1, n_heads=2, mlp_hidden_size=64, max_sequence_length=256, **kw)


@pytest.fixture(scope="module")
def dense_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = _model_config().build()
    model.init_weights(0)
    return save_model_checkpoint(model, tmp_path_factory.mktemp("dense") / "ckpt")


def _reseal(target: Path) -> None:
    if target.name != "manifest.json":
        write_manifest(target.parent, step=0, sharded=False)


def _checkpoint_oracle(name: str):
    def oracle(payload: bytes) -> bool | None:
        if name == "model.safetensors":
            return None if payload and len(payload) > 8 else False  # a flip in tensor bytes is benign
        try:
            obj = json.loads(payload.decode("utf-8"))
        except ValueError:
            return False
        return None if isinstance(obj, dict) and obj else False
    return oracle


def _checkpoint_mutants(ckpt: Path, seed: int, per_file: int) -> list[tuple[str, str, bytes]]:
    out = []
    for i, name in enumerate(CKPT_FILES):
        data = (ckpt / name).read_bytes()
        fmt = "json" if name.endswith(".json") else None
        kinds = ("truncate", "bit_flip", "empty", "wrong_type", "missing_field", "nan_inf") if fmt else \
            ("truncate", "bit_flip", "empty")
        out += [(name, f"{name}:{m}", m.data) for m in mutants(data, seed + i, per_file, fmt=fmt, kinds=kinds)]
    return out


def _fuzz_checkpoint_cli(name: str, main, argv, ckpt: Path, tmp_path: Path, seed: int, per_file: int = 3,  # noqa: ANN001
                         extra_setup=None, volatile: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    tallies = []
    for file_name in CKPT_FILES:
        def setup(work: Path, file_name: str = file_name) -> Path:
            shutil.copytree(ckpt, work / "in" / "ckpt")
            if extra_setup is not None:
                extra_setup(work)
            return work / "in" / "ckpt" / file_name
        case = Case(name, main, setup, argv, _checkpoint_oracle(file_name), where=("model.", "field"),
                    binary=file_name == "model.safetensors", after_write=_reseal, volatile=volatile)
        mutated = [(label, data) for f, label, data in _checkpoint_mutants(ckpt, seed, per_file) if f == file_name]
        tallies.append(run_case(case, mutated, tmp_path / file_name, seed, rerun_check=file_name == "config.json"))
    total = tallies[0]
    for t in tallies[1:]:
        total.tried, total.refused, total.accepted = total.tried + t.tried, total.refused + t.refused, total.accepted + t.accepted
        total.problems += t.problems
    finish(total)


# ---- olmo-eval --------------------------------------------------------------------------------


def _ppl_data(work: Path, docs: bytes) -> Path:
    d = work / "in" / "ppl" / "books" / "kjv"
    d.mkdir(parents=True, exist_ok=True)
    (d / "shard.jsonl.gz").write_bytes(gzip.compress(docs, mtime=0))
    return d / "shard.jsonl.gz"


@pytest.fixture(scope="module")
def ppl_docs() -> bytes:
    docs = first_lines(SHARED / "corpus" / "books" / "books-0000.jsonl.zst", 4, max_text=2000)
    return "".join(json.dumps(d) + "\n" for d in docs).encode()


def test_olmo_eval_perplexity_documents(dense_checkpoint: Path, ppl_docs: bytes, tmp_path: Path) -> None:
    from olmo_eval.cli import main

    def setup(work: Path) -> Path:
        shutil.copytree(dense_checkpoint, work / "in" / "ckpt")
        return _ppl_data(work, ppl_docs)

    argv = lambda w: ["perplexity", "--model", str(w / "in" / "ckpt"), "--data", str(w / "in" / "ppl"),  # noqa: E731
                      "--out", str(w / "out"), "--max-docs", "4", "--device", "cpu", "--no-progress"]
    def oracle(payload: bytes) -> bool | None:  # perplexity reads a document's id and text, nothing else
        return json_lines_valid(payload, lambda o: isinstance(o, dict) and isinstance(o.get("text"), str) and (
            isinstance(o.get("id"), str) and o["id"] != "" or type(o.get("id")) is int), strict=False)

    case = Case("olmo-eval perplexity", main, setup, argv, oracle, where=("empty", "document"),
                encode=lambda b: gzip.compress(b, mtime=0), volatile=("*.json",))
    finish(run_case(case, [(str(m), m.data) for m in mutants(ppl_docs, SEED + 200, 8, fmt="jsonl")],
                    tmp_path, SEED + 200))


def test_olmo_eval_run_checkpoint(dense_checkpoint: Path, tmp_path: Path) -> None:
    from olmo_eval.cli import main

    argv = lambda w: ["run", "--model", str(w / "in" / "ckpt"), "--tasks", "arc_easy", "--limit", "2",  # noqa: E731
                      "--num-shots", "0", "--device", "cpu", "--out", str(w / "out"), "--no-progress"]
    _fuzz_checkpoint_cli("olmo-eval run", main, argv, dense_checkpoint, tmp_path, SEED + 210)


def test_olmo_eval_generate_checkpoint(dense_checkpoint: Path, tmp_path: Path) -> None:
    from olmo_eval.cli import main

    argv = lambda w: ["generate", "--model", str(w / "in" / "ckpt"), "--tasks", "gsm8k", "--limit", "1",  # noqa: E731
                      "--max-new-tokens", "2", "--out", str(w / "out")]
    _fuzz_checkpoint_cli("olmo-eval generate", main, argv, dense_checkpoint, tmp_path, SEED + 220, per_file=2)


# ---- olmoe --------------------------------------------------------------------------------------


def test_olmoe_upcycle_dense_checkpoint(dense_checkpoint: Path, tmp_path: Path) -> None:
    from olmoe.cli import main

    argv = lambda w: ["upcycle", str(w / "in" / "ckpt"), str(w / "out" / "moe"), "--experts", "2", "--top-k", "1"]  # noqa: E731
    # the MoE checkpoint records the dense one's path, so its manifest's hash of config.json differs by folder
    _fuzz_checkpoint_cli("olmoe upcycle", main, argv, dense_checkpoint, tmp_path, SEED + 230,
                         volatile=("*manifest.json",))


@pytest.fixture(scope="module")
def moe_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OLMoE-layout MoE (RMSNorm with weights, QK-norm, untied head, 2 experts) upcycled from a dense
    model of that layout: what ``olmoe convert`` maps to HF's OlmoeForCausalLM."""
    from olmoe.cli import main

    torch.manual_seed(0)
    dense = _model_config(norm="rmsnorm", norm_affine=True, qk_norm=True, weight_tying=False).build()
    dense.init_weights(0)
    root = tmp_path_factory.mktemp("moe")
    save_model_checkpoint(dense, root / "dense")
    assert main(["upcycle", str(root / "dense"), str(root / "ckpt"), "--experts", "2", "--top-k", "1"]) == 0
    return root / "ckpt"


def test_olmoe_convert_moe_checkpoint(moe_checkpoint: Path, tmp_path: Path) -> None:
    from olmoe.cli import main

    argv = lambda w: ["convert", "to-hf", str(w / "in" / "ckpt"), str(w / "out" / "hf"), "--tokenizer", "none"]  # noqa: E731
    _fuzz_checkpoint_cli("olmoe convert", main, argv, moe_checkpoint, tmp_path, SEED + 240, per_file=2,
                         volatile=("hf/*.json",))


def test_olmoe_analyze_moe_checkpoint(moe_checkpoint: Path, ppl_docs: bytes, tmp_path: Path) -> None:
    from olmoe.cli import main

    argv = lambda w: ["analyze", str(w / "in" / "ckpt"), "--probe", str(w / "in" / "ppl"), "--out", str(w / "out"),  # noqa: E731
                      "--docs-per-source", "2", "--max-tokens-per-doc", "32", "--seq-len", "32"]
    _fuzz_checkpoint_cli("olmoe analyze", main, argv, moe_checkpoint, tmp_path, SEED + 250, per_file=2,
                         extra_setup=lambda w: _ppl_data(w, ppl_docs))


# ---- open-instruct: chat and preference files, and the checkpoint pref-acc reads ------------------


def _instruct(name: str, n: int) -> bytes:
    import io

    import zstandard

    out = []
    with open(SHARED / "instruct" / name, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            out.append(line if line.endswith("\n") else line + "\n")
            if len(out) == n:
                break
    return "".join(out).encode()


def _messages_ok(msgs: object) -> bool:
    return isinstance(msgs, list) and bool(msgs) and all(
        isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)
        for m in msgs)


def _chat_oracle(payload: bytes) -> bool | None:
    ok = json_lines_valid(payload, lambda o: isinstance(o, dict) and _messages_ok(o.get("messages")), strict=False)
    return None if ok else False  # a valid-looking file may still lose every example to filters


def _pairs_oracle(payload: bytes) -> bool | None:
    ok = json_lines_valid(payload, lambda o: isinstance(o, dict) and all(
        _messages_ok(o.get(k)) for k in ("chosen", "rejected")), strict=False)
    return None if ok else False


COMMON = ["data.max_length=256", "batch.global_batch_size=2", "batch.micro_batch_size=2", "batch.epochs=1",
          "~trainer.callbacks.loss_plot", "~trainer.callbacks.speed", "trainer.max_steps=1"]


def test_open_instruct_sft_chat_file(dense_checkpoint: Path, tmp_path: Path) -> None:
    from open_instruct.cli import main

    data = _instruct("sft.jsonl.zst", 16)

    def setup(work: Path) -> Path:
        shutil.copytree(dense_checkpoint, work / "in" / "ckpt")
        (work / "in" / "sft.jsonl").write_bytes(data)
        return work / "in" / "sft.jsonl"

    argv = lambda w: ["sft", "--preset", "tiny_sft", f"init_from={w / 'in' / 'ckpt'}",  # noqa: E731
                      f"data.sources=[{w / 'in' / 'sft.jsonl'}]", "data.exclude=[]", f"data.cache_dir={w / 'out' / 'cache'}",
                      f"trainer.run_dir={w / 'out' / 'run'}", *COMMON]
    case = Case("open-instruct sft", main, setup, argv, _chat_oracle, where=("messages", "role", "content", "empty"))
    finish(run_case(case, [(str(m), m.data) for m in mutants(data, SEED + 300, 6, fmt="jsonl")], tmp_path,
                    SEED + 300, rerun_check=False))


def test_open_instruct_dpo_preference_file(dense_checkpoint: Path, tmp_path: Path) -> None:
    from open_instruct.cli import main

    data = _instruct("dpo.jsonl.zst", 16)

    def setup(work: Path) -> Path:
        shutil.copytree(dense_checkpoint, work / "in" / "ckpt")
        (work / "in" / "pairs.jsonl").write_bytes(data)
        return work / "in" / "pairs.jsonl"

    argv = lambda w: ["dpo", "--preset", "tiny_dpo", f"init_from={w / 'in' / 'ckpt'}",  # noqa: E731
                      f"data.sources=[{w / 'in' / 'pairs.jsonl'}]", "data.holdout=0",
                      f"data.cache_dir={w / 'out' / 'cache'}", f"trainer.run_dir={w / 'out' / 'run'}", *COMMON]
    case = Case("open-instruct dpo", main, setup, argv, _pairs_oracle,
                where=("chosen", "rejected", "prompt", "messages", "role", "content", "empty"))
    finish(run_case(case, [(str(m), m.data) for m in mutants(data, SEED + 310, 6, fmt="jsonl")], tmp_path,
                    SEED + 310, rerun_check=False))


def test_open_instruct_pref_acc_inputs(dense_checkpoint: Path, tmp_path: Path) -> None:
    from open_instruct.cli import main

    data = _instruct("dpo.jsonl.zst", 6)

    def setup(work: Path) -> Path:
        shutil.copytree(dense_checkpoint, work / "in" / "ckpt")
        (work / "in" / "pairs.jsonl").write_bytes(data)
        return work / "in" / "pairs.jsonl"

    argv = lambda w: ["pref-acc", str(w / "in" / "ckpt"), "--data", str(w / "in" / "pairs.jsonl"),  # noqa: E731
                      "--max-length", "64", "--cache-dir", str(w / "out" / "cache")]
    case = Case("open-instruct pref-acc", main, setup, argv, _pairs_oracle,
                where=("chosen", "rejected", "prompt", "messages", "role", "content", "empty"))
    finish(run_case(case, [(str(m), m.data) for m in mutants(data, SEED + 320, 8, fmt="jsonl")], tmp_path,
                    SEED + 320, rerun_check=False))
    _fuzz_checkpoint_cli("open-instruct pref-acc (checkpoint)", main, lambda w: [
        "pref-acc", str(w / "in" / "ckpt"), "--data", str(w / "in" / "pairs.jsonl"), "--max-length", "64",
        "--cache-dir", str(w / "out" / "cache")], dense_checkpoint, tmp_path / "ckpt", SEED + 330, per_file=2,
        volatile=("cache/*",),
        extra_setup=lambda w: (w / "in").mkdir(parents=True, exist_ok=True) or (w / "in" / "pairs.jsonl").write_bytes(data))
