"""Benchmark: tokens/s of olmo-core's training step against the same model trained with ``transformers``
(``OlmoForCausalLM`` + ``torch.optim.AdamW``), on the CPU by default, through ``harness.py``.

What is compared. One OLMo-1-layout model (non-affine LayerNorm, SwiGLU, RoPE, tied embeddings, the full
50,304-row OLMo vocabulary) is built and initialised by olmo-core, saved with ``save_model_checkpoint``
and converted with ``olmo_core.convert.to_hf``: our side loads the checkpoint, the peer loads the HF
folder, so both start from the very same float32 weights. Both train on the same real token batch (the
shared corpus through the OLMo tokenizer, written to one JSON file both sides read), inputs the first T
tokens of each row and targets the next T (the peer gets them pre-shifted through ``shift_labels``, so
both have B*T targets), with the same optimizer: AdamW, lr 4e-4 constant, betas (0.9, 0.95), eps 1e-5,
weight decay 0.1 on weight matrices and 0 on the embedding (norms have no weights), gradient clipping
at 1.0, float32, the same torch build and thread count (``--threads``, default 2) in each side's own
process.

What is timed (the harness times the worker's round call only, the same scope both sides): ``--steps``
full training steps per round on the same batch -- forward, loss, backward, clipping, optimizer step,
zero_grad.

* ours: ``Trainer.train_step`` (global-token loss normalization, clipping, spike check, metrics, batch
  digest: more bookkeeping than the peer does) with ``OptimConfig.build``'s fused AdamW and the loss that
  fuses the tied output head with cross-entropy in row chunks (never building the float32 ``[B*T, V]``
  logits; same loss and gradients). ``--plain-loss`` figure: the same step with the unfused loss.
* transformers==5.24.0 (the version in our uv.lock) on our torch, in its own pinned environment, at its
  best CPU setting: ``torch.optim.AdamW(fused=True)`` -- on the CPU torch's fused AdamW is its fastest
  implementation (one vectorised kernel per parameter group; the default on CPU tensors is the slow
  per-tensor for-loop, and ``foreach`` on CPU only batches the Python dispatch). Measured here on the
  primary size's tensors (77M parameters, 2 threads, best of 5 optimizer steps): fused 0.63 s, foreach
  2.85 s, for-loop 4.13 s; ``--peer-optimizer foreach|for-loop`` shows the others. ``attn_implementation="sdpa"`` (torch's fused attention; the eager default builds the
  score matrix by hand), ``use_cache=False`` (no KV cache while training), the model's own loss with
  ``labels``. No ``torch.compile`` on either side by default (``--compile`` compiles both).

Work check: every round, each side's per-step losses must agree within atol 1e-4 + rtol 1e-4 (step
losses are about 11 for a fresh model, so the bound is about 1.2e-3); same weights and data in
float32 with fused AdamW on both sides give differences of at most 5e-7 over the steps of a run (only
summation order differs: chunked vs full cross-entropy, the two attention call paths), so the
tolerance leaves room for longer runs but not for different work (one skipped or extra step, other
weights, other targets change the loss by 1e-2 or more).
Both sides run the same number of steps, so round i is the same training steps on both.

Sizes. RESULT (primary): d_model 1024, 16 heads, 2 layers, SwiGLU hidden 2688, vocab 50,304 (77M
parameters, the embedding most of them), batch 2 x 256, 1 step per round. Also: ``toy`` (d_model 256,
4 layers, batch 4 x 128, the old size; 2 steps per round, 1 with ``--quick``) and ``plain loss`` (ours without the fused head + loss, primary
size).

    uv run --frozen python tools/bench/train_step.py --quick     # all variants, about 2 minutes
    uv run --frozen python tools/bench/train_step.py              # more rounds
    uv run --frozen python tools/bench/train_step.py --device cuda --mfu-olmo-1b   # on a GPU

``--mfu-olmo-1b`` (GPU) also prints our step's MFU for ``olmo_1b`` at sequence length 2048 (not a
comparison).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

HERE = Path(__file__).resolve().parent
SIDES = HERE / "sides"
PEER = harness.PeerEnv(("transformers==5.24.0", harness.workspace_pin("torch")))
TOKENIZER = harness.SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
CORPUS = harness.SHARED / "corpus" / "books"
OPTIM = {"lr": 4e-4, "betas": [0.9, 0.95], "eps": 1e-5, "weight_decay": 0.1, "max_grad_norm": 1.0}
ATOL, RTOL = 1e-4, 1e-4
EOS = 50279


def real_tokens(n: int) -> list[int]:
    """The first ``n`` tokens of the shared books corpus through the OLMo tokenizer, documents joined
    by EOS."""
    import zstandard
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    path = sorted(CORPUS.glob("*.jsonl.zst"))[0]
    ids: list[int] = []
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as r:
        for line in io.TextIOWrapper(r, encoding="utf-8"):
            ids += tok.encode(json.loads(line)["text"]).ids + [EOS]
            if len(ids) >= n:
                break
    if len(ids) < n:
        raise SystemExit(f"{path}: only {len(ids)} tokens, need {n}")
    return ids[:n]


def model_config(d_model: int, layers: int):  # type: ignore[no-untyped-def]
    from olmo_core.model.presets import get_model_preset

    return get_model_preset("tiny").replace(d_model=d_model, n_layers=layers, n_heads=max(d_model // 64, 1),
                                            mlp_hidden_size=d_model * 8 // 3 // 64 * 64 or 64,
                                            max_sequence_length=2048)


def prepare(work: Path, name: str, d_model: int, layers: int, batch: int, seq: int) -> dict:
    """Model checkpoint, its HF conversion and the token batch for one size; returns the paths."""
    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.convert import to_hf
    from olmo_core.model.transformer import OLMo

    d = work / name
    cfg = model_config(d_model, layers)
    model = OLMo(cfg)
    model.init_weights(0)
    n_params = sum(p.numel() for p in model.parameters())
    save_model_checkpoint(model, d / "ckpt")
    del model
    to_hf(d / "ckpt", d / "hf", tokenizer=None)
    ids = real_tokens(batch * (seq + 1))
    (d / "tokens.json").write_text(json.dumps([ids[i * (seq + 1):(i + 1) * (seq + 1)] for i in range(batch)]))
    harness.log(f"{name}: d_model {cfg.d_model}, {cfg.n_layers} layers, {cfg.n_heads} heads, mlp "
                f"{cfg.mlp_hidden_size}, vocab rows {cfg.embedding_size}, tied={cfg.weight_tying}; "
                f"{n_params:,} parameters; batch {batch} x {seq}")
    return {"ckpt": str(d / "ckpt"), "hf": str(d / "hf"), "tokens": str(d / "tokens.json"), "dir": d,
            "size": f"d_model {cfg.d_model}, {cfg.n_layers} layers, {cfg.n_heads} heads, vocab "
                    f"{cfg.embedding_size}, {n_params / 1e6:.0f}M params, batch {batch} x {seq}",
            "params": n_params}


def run_variant(args: argparse.Namespace, prep: dict, *, variant: str, steps: int, rounds: int,
                fused_loss: bool, primary: bool) -> harness.Result:
    common = {**OPTIM, "tokens": prep["tokens"], "steps": steps, "device": args.device,
              "threads": args.threads, "compile": args.compile}
    ours = harness.Worker("olmo-core Trainer.train_step", SIDES / "train_step_ours.py",
                          {**common, "checkpoint": prep["ckpt"], "fused_loss": fused_loss,
                           "run_dir": str(prep["dir"] / f"run-{variant or 'primary'}")},
                          threads=args.threads)
    theirs = harness.Worker("transformers OlmoForCausalLM + AdamW", SIDES / "train_step_hf.py",
                            {**common, "hf_dir": prep["hf"], "optimizer": args.peer_optimizer},
                            python=PEER.python, threads=args.threads)
    loss = "fused chunked head + cross-entropy" if fused_loss else "plain (unfused) loss"
    return harness.compare(
        "train_step", ours, theirs, peer=PEER.label, unit="tokens/s", rounds=rounds, variant=variant,
        work=f"{steps} AdamW training step(s) per round on the same weights and batch, {prep['size']}, "
             f"float32, {args.device}, {args.threads} threads; ours: {loss}",
        check=harness.check_close("per-step training losses", atol=ATOL, rtol=RTOL),
        peer_setting=f"torch.optim.AdamW({args.peer_optimizer}), sdpa attention, use_cache=False"
                     f"{', torch.compile' if args.compile else ''}",
        goal=1.2, primary=primary,
        limits="same torch matmul kernels and fused AdamW on both sides; our whole lead is not building the "
               "[B*T, V] logits (fused head + loss): with the plain loss the ratio is about 1.0",
        extra={"params": prep["params"], "steps_per_round": steps, "fused_loss": fused_loss})


def mfu_olmo_1b(device_name_: str, steps: int) -> None:
    import torch

    from olmo_core.distributed.parallelize import ParallelConfig, parallelize
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.train.callbacks.speed import device_name, peak_flops
    from olmo_core.train.loss import LanguageModelingLoss

    device = torch.device(device_name_)
    cfg = get_model_preset("olmo_1b")
    model = OLMo(cfg).to(device)
    model = parallelize(model, ParallelConfig(strategy="single", param_dtype="bfloat16",
                                              activation_checkpointing="none"), device)
    opt = OptimConfig(lr=4e-4).build(model)
    loss_fn = LanguageModelingLoss()
    toks = torch.randint(0, 50280, (4, 2049), device=device)
    mb = {"input_ids": toks[:, :-1], "labels": toks[:, 1:]}

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = loss_fn(model, mb)
        (out.loss_sum / 4 / 2048).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    tps = 4 * 2048 * steps / (time.perf_counter() - t0)
    peak = peak_flops(device_name(device))
    mfu = "unknown" if peak is None else f"{tps * model.flops_per_token(2048) / peak:.1%}"
    print(f"olmo_1b seq 2048 batch 4 bf16 on {device_name(device)}: {tps:,.0f} tokens/s, MFU {mfu}")


def main() -> list[harness.Result]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 rounds per variant (about 2 minutes)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 3 quick, 5)")
    ap.add_argument("--steps", type=int, default=None, help="training steps per round at the primary size")
    ap.add_argument("--d-model", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads, both sides")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true", help="torch.compile both models (slow to start on a CPU)")
    ap.add_argument("--peer-optimizer", choices=["fused", "foreach", "for-loop"], default="fused")
    ap.add_argument("--no-toy", action="store_true", help="skip the toy-size figure")
    ap.add_argument("--no-plain-loss", action="store_true", help="skip the unfused-loss figure")
    ap.add_argument("--mfu-olmo-1b", action="store_true", help="(GPU) also print olmo_1b MFU")
    args = ap.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    steps = args.steps or 1
    PEER.ensure()
    with tempfile.TemporaryDirectory(prefix="bench-train-step-") as tmp:
        return _run(args, Path(tmp), rounds, steps)


def _run(args: argparse.Namespace, work: Path, rounds: int, steps: int) -> list[harness.Result]:
    results = []
    main_prep = prepare(work, "primary", args.d_model, args.layers, args.batch, args.seq)
    results.append(run_variant(args, main_prep, variant="", steps=steps, rounds=rounds, fused_loss=True,
                               primary=True))
    if not args.no_toy:
        toy = prepare(work, "toy", 256, 4, 4, 128)
        results.append(run_variant(args, toy, variant="toy", steps=1 if args.quick else 2, rounds=rounds,
                                   fused_loss=True, primary=False))
    if not args.no_plain_loss:
        results.append(run_variant(args, main_prep, variant="plain loss", steps=steps, rounds=rounds,
                                   fused_loss=False, primary=False))
    if args.mfu_olmo_1b:
        mfu_olmo_1b(args.device, 5)
    return results


if __name__ == "__main__":
    harness.run(main)
