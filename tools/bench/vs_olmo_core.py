"""Benchmark: our olmo-core against the project it re-creates, ``ai2-olmo-core==3.0.0`` (OLMo-core), through
``harness.py``: the dense training step on the CPU (the RESULT line), and with ``--device cuda`` also the
dropless MoE layer and an MFU figure for a 1B model.

Dense training step. The same OLMo-2 model on both sides: ``TransformerConfig.olmo2_30M(vocab_size=50304)``
(d_model 256, 4 layers, 8 heads, SwiGLU hidden 768, RMSNorm after each sublayer, QK-norm, theta 500k,
untied head; 29.2M parameters, the vocabulary's two matrices most of them) against our ``tiny_olmo2``
preset at that size, and (the RESULT line) a wide one: d_model 1024, 2 layers, 16 heads, hidden 2816
(``llama_like``'s rounding), the full 50,304-row vocabulary (128M parameters). Our model is built and
initialised once (``init_weights(0)``) and written twice: as is for our side, and converted to OLMo-core
3.0's layout by our converter (``olmo_core.convert``'s registry, the ``transformer`` converter) for the
peer, which loads it ``strict`` after its train module is built.
Both train on the same batch of real tokens (the shared books corpus through the OLMo tokenizer, documents
joined by EOS), inputs the first T tokens of each row and targets the next T, with AdamW lr 4e-4 constant,
betas (0.9, 0.95), eps 1e-5, weight decay 0.1 on the weight matrices and none on the embedding and the
norm weights (the peer gets the same no-decay names as an ``OptimGroupOverride``), clipping at 1.0,
float32, the same thread count (``--threads``, default 2), each side in its own process: ours on the
workspace's torch, OLMo-core on torch 2.13.0 (the newest it accepts, ``tools/peers.py``).

What is timed (the worker's round call only, the same scope on both sides): ``--steps`` full steps per
round -- forward, loss, backward, clipping, AdamW step, zero_grad.

* ours: ``Trainer.train_step`` with ``OptimConfig.build``'s fused AdamW and the loss that fuses the output
  head with cross-entropy in row chunks (never building the float32 ``[B*T, V]`` logits).
  ``--plain-loss`` adds the same step with the unfused loss as a second figure.
* OLMo-core: its own ``TransformerTrainModule`` -- ``train_batch`` (forward with labels, loss summed and
  divided by the batch's target count, backward), ``optim_step`` (``_clip_grad_norm``, then the optimizer),
  ``zero_grads`` -- the three calls its ``Trainer`` makes per batch (the Trainer itself needs a data loader
  and a save folder; its one duty inside those calls, recording metrics, is a dict here). Its best CPU
  settings: ``AdamWConfig(fused=True)`` -- torch's fused AdamW, the fastest on a CPU (one vectorised kernel
  per group; OLMo-core's default ``fused=None`` leaves torch's per-tensor for-loop on CPU tensors, and
  ``foreach`` on a CPU only batches the Python dispatch: 0.63 s fused against 2.85 s foreach and 4.13 s
  for-loop on 77M parameters here, see ``train_step.py``); the loss ``LMLossImplementation.default``,
  because its only fused loss, ``fused_linear``, is Liger-Kernel's Triton kernel (CUDA only); no
  ``torch.compile`` (``compile_model=False``, its default and what its CPU runs use; compiling costs
  minutes on 2 cores and cannot speed up the matmuls, which are most of this step (see below);
  ``--compile`` compiles both sides); no autocast (float32, as ours). ``--peer-optimizer foreach|for-loop`` shows its other optimizer paths.

Where the time goes (torch.profiler, one step at the primary size, both sides): about 70% is ``mm``/``addmm``
in the same MKL/oneDNN sgemm kernels on both sides (the output head alone is 2/3 of the FLOPs at 50,304
rows and width 1,024), about 4% torch's fused AdamW, the same kernel on both; what differs is the rest
(the peer's full logits, log-softmax and its backward, RoPE's ``cat``/``neg``, norm upcasts), about a
quarter of the step. So at width 1,024 the ratio stays near 1.0 for the same float32 work (measured
0.95-1.11 over four runs), while at ``olmo2_30M``, where that rest weighs more, our fused head + loss gives
1.2-1.3x in quiet runs and 0.81x the memory.

Work check: every round, the per-step losses must agree within atol 1e-4 + rtol 1e-4 (fresh-model losses
are about 11, so about 1.2e-3): the same weights, batch and optimizer in float32 leave only summation
order (chunked vs full cross-entropy, two attention call paths, two torch builds), about 1e-6; one
skipped or extra step, other weights or other targets move the loss by 1e-2 or more.

MoE layer (``--device cuda`` only). olmoe's ``MoEFeedForward`` against OLMo-core's dropless MoE block
(``MoEConfig(name="dropless")``) at 64 experts, top-8, forward + backward, the case and check of
``moe_layer.py`` (same weights, input and output gradient; sampled values and sums of the output and
every gradient within 1e-5 relative). On a CPU OLMo-core's MoE cannot run -- its token permutation is
a Triton kernel, which stops with "0 active drivers" -- so ``--moe`` on a CPU is refused with that
reason; the CPU figures never touch it.

MFU (``--device cuda``): our step on ``olmo2_1b`` (OLMo-2 1B, the 100,352-row dolma2 vocabulary) at
sequence length 4,096 in bfloat16, printed next to OLMo-core's published 1B figures (README: 44-46k
tokens/s per H100 at 4,096 context in bf16, 51k in FP8). Not a ratio: those come from their cluster
setup, not from this run.

    uv run --frozen python tools/bench/vs_olmo_core.py --quick    # dense step, both sizes (6-7 min, loaded 2 cores)
    uv run --frozen python tools/bench/vs_olmo_core.py            # more rounds
    uv run --frozen python tools/bench/vs_olmo_core.py --device cuda   # dense + MoE + 1B MFU on a GPU
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness  # noqa: E402
import peers  # noqa: E402

HERE = Path(__file__).resolve().parent
SIDES = HERE / "sides"
PEER = peers.olmo_core_peer()
OPTIM = {"lr": 4e-4, "betas": [0.9, 0.95], "eps": 1e-5, "weight_decay": 0.1, "max_grad_norm": 1.0}
ATOL, RTOL = 1e-4, 1e-4
MOE_CPU_REFUSAL = ("the MoE comparison needs --device cuda: OLMo-core's dropless MoE permutes tokens with a "
                   "Triton kernel, which on a CPU stops with 'RuntimeError: 0 active drivers ([]). There should "
                   "only be one.'; the dense CPU figures do not use it")
#: OLMo-core 3.0.0's README, "Official training scripts" throughput table (per H100, 4,096 context)
PUBLISHED_1B = "44-46k tokens/s per H100 in bf16, 51k in FP8 (OLMo-core README, 1B at 4,096 context)"


def llama_like_hidden(d_model: int) -> int:
    """OLMo-core's ``TransformerConfig.llama_like`` FFN size: ``int(8 d / 3)`` rounded up to 256."""
    return math.ceil(int(8 * d_model / 3) / 256) * 256


def prepare(work: Path, name: str, d_model: int, layers: int, heads: int, batch: int, seq: int) -> dict:
    """Weights (our layout, safetensors), the token batch and the size's config for both sides."""
    from safetensors.torch import save_file
    from train_step import real_tokens

    from olmo_core.convert.registry import olmo_core_converter_for_config
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import param_groups

    d = work / name
    d.mkdir(parents=True)
    hidden = llama_like_hidden(d_model)
    cfg = get_model_preset("tiny_olmo2").replace(d_model=d_model, n_layers=layers, n_heads=heads,
                                                 mlp_hidden_size=hidden)
    model = OLMo(cfg)
    model.init_weights(0)
    n_params = sum(p.numel() for p in model.parameters())
    no_decay = next(g for g in param_groups(model, OPTIM["weight_decay"]) if g["name"] == "no_decay")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    conv = olmo_core_converter_for_config(cfg)  # our olmo-core.convert, the OLMo-core 3.0 layout
    peer_names = conv.peer_names(cfg)
    for file, tensors in (("weights.safetensors", state), ("weights.peer.safetensors", conv.to_peer_state(cfg, state))):
        save_file(tensors, str(d / f"{file}.tmp"))
        (d / f"{file}.tmp").rename(d / file)
    del model, state
    ids = real_tokens(batch * (seq + 1))
    (d / "tokens.json").write_text(json.dumps([ids[i * (seq + 1):(i + 1) * (seq + 1)] for i in range(batch)]))
    size = (f"d_model {d_model}, {layers} layers, {heads} heads, hidden {hidden}, vocab {cfg.embedding_size}, "
            f"{n_params / 1e6:.1f}M params, batch {batch} x {seq}")
    harness.log(f"{name}: {size}")
    return {"weights": str(d / "weights.safetensors"), "peer_weights": str(d / "weights.peer.safetensors"),
            "tokens": str(d / "tokens.json"), "dir": d, "size": size,
            "params": n_params, "model": {"d_model": d_model, "n_layers": layers, "n_heads": heads,
                                          "mlp_hidden_size": hidden},
            "peer_no_decay": [peer_names[n] for n in no_decay["param_names"]]}


def dense(args: argparse.Namespace, prep: dict, *, variant: str, steps: int, rounds: int, fused_loss: bool,
          primary: bool) -> harness.Result:
    common = {**OPTIM, **prep["model"], "weights": prep["weights"], "tokens": prep["tokens"], "steps": steps,
              "device": args.device, "threads": args.threads, "compile": args.compile}
    ours = harness.Worker("olmo-core Trainer.train_step", SIDES / "vs_olmo_core_ours.py",
                          {**common, "fused_loss": fused_loss,
                           "run_dir": str(prep["dir"] / f"run-{variant or 'primary'}".replace(" ", "-"))},
                          threads=args.threads)
    theirs = harness.Worker("OLMo-core TransformerTrainModule", SIDES / "vs_olmo_core_peer.py",
                            {**common, "weights": prep["peer_weights"], "no_decay": prep["peer_no_decay"],
                             "optimizer": args.peer_optimizer,
                             "autocast": None},
                            python=PEER.python, threads=args.threads)
    loss = "fused chunked head + cross-entropy" if fused_loss else "plain (unfused) loss"
    return harness.compare(
        "vs_olmo_core", ours, theirs, peer=PEER.label, unit="tokens/s", rounds=rounds, variant=variant,
        work=f"{steps} AdamW training step(s) per round (forward, backward, clip 1.0, AdamW) on the same weights "
             f"and real-token batch, {prep['size']}, float32, {args.device}, {args.threads} threads; ours: {loss}",
        check=harness.check_close("per-step training losses", atol=ATOL, rtol=RTOL),
        peer_setting=f"TransformerTrainModule, AdamWConfig({args.peer_optimizer}), default (PyTorch) loss, "
                     f"no compile, float32, torch {peers.OLMO_CORE_TORCH}",
        goal=1.2 if args.device == "cpu" else None, primary=primary,
        limits=("about 70% of the step is the same MKL sgemm on both sides (the 50k-row head is 2/3 of the "
                "FLOPs) and AdamW is the same fused kernel; only the rest (logits, log-softmax, RoPE, norms) "
                "can differ, so the same float32 work stays near 1.0x"),
        extra={"params": prep["params"], "steps_per_round": steps, "fused_loss": fused_loss})


def moe(args: argparse.Namespace, rounds: int) -> harness.Result:
    from moe_layer import check_grads, save_case

    with tempfile.TemporaryDirectory(prefix="bench-vs-olmo-core-moe-") as tmp:
        data = Path(tmp) / "case.pt"
        save_case(data, args.moe_d_model, args.moe_hidden, 64, args.moe_tokens, seed=0)
        config = {"data": str(data), "top_k": 8, "iters": args.moe_iters, "samples": 2000,
                  "threads": args.threads, "device": args.device}
        ours = harness.Worker("olmoe MoEFeedForward", SIDES / "vs_olmo_core_moe_ours.py", config,
                              threads=args.threads)
        theirs = harness.Worker("OLMo-core DroplessMoE", SIDES / "vs_olmo_core_moe_peer.py", config,
                                python=PEER.python, threads=args.threads)
        return harness.compare(
            "vs_olmo_core", ours, theirs, peer=PEER.label, unit="tokens/s", rounds=rounds, variant="MoE layer",
            work=f"forward + backward of one dropless MoE layer, E=64 top-8, d_model {args.moe_d_model}, expert "
                 f"hidden {args.moe_hidden}, {args.moe_tokens} tokens, float32, {args.device}",
            check=check_grads, primary=False, goal=1.5,
            peer_setting="MoEConfig(name='dropless'), no lb/z loss, experts as installed from PyPI "
                         "(grouped_gemm absent: one matmul per expert)",
            limits="OLMo-core's experts loop over per-expert matmuls in float32 without the grouped_gemm package",
            extra={"d_model": args.moe_d_model, "hidden": args.moe_hidden, "tokens": args.moe_tokens})


def mfu_1b(device_name_: str, steps: int, batch: int, compile_: bool) -> None:
    """Our step on ``olmo2_1b`` at sequence length 4,096 in bf16: tokens/s and MFU (GPU only)."""
    import torch

    from olmo_core.distributed.parallelize import ParallelConfig, parallelize
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.train.callbacks.speed import device_name, peak_flops
    from olmo_core.train.loss import LanguageModelingLoss

    seq = 4096
    device = torch.device(device_name_)
    model = OLMo(get_model_preset("olmo2_1b"))
    model.init_weights(0)
    model = parallelize(model, ParallelConfig(strategy="single", param_dtype="bfloat16",
                                              activation_checkpointing="none", compile=compile_), device)
    opt = OptimConfig(lr=4e-4).build(model)
    loss_fn = LanguageModelingLoss()
    toks = torch.randint(0, 100278, (batch, seq + 1), device=device)
    mb = {"input_ids": toks[:, :-1], "labels": toks[:, 1:]}

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = loss_fn(model, mb)
        (out.loss_sum / (batch * seq)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    tps = batch * seq * steps / (time.perf_counter() - t0)
    inner = getattr(model, "module", model)
    peak = peak_flops(device_name(device))
    mfu = "unknown (no peak for this GPU)" if peak is None else f"{tps * inner.flops_per_token(seq) / peak:.1%}"
    print(f"MFU olmo2_1b seq {seq} batch {batch} bf16 on {device_name(device)}: ours {tps:,.0f} tokens/s, MFU {mfu}; "
          f"OLMo-core published: {PUBLISHED_1B}")


def main() -> list[harness.Result]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 rounds, 1 step each, both sizes (7 minutes on the shared 2-core machine at load 7-9)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 3 quick, 5)")
    ap.add_argument("--steps", type=int, default=None, help="training steps per round (default 1 quick, 2)")
    ap.add_argument("--d-model", type=int, default=1024, help="width of the primary (RESULT) size")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads, both sides")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--compile", action="store_true", help="torch.compile both models (slow to start on a CPU)")
    ap.add_argument("--peer-optimizer", choices=["fused", "foreach", "for-loop"], default="fused")
    ap.add_argument("--no-30m", action="store_true", help="skip the olmo2_30M figure")
    ap.add_argument("--plain-loss", action="store_true", help="also ours with the unfused loss (primary size)")
    ap.add_argument("--moe", action=argparse.BooleanOptionalAction, default=None,
                    help="the MoE layer comparison (default: on with --device cuda; refused on a CPU)")
    ap.add_argument("--moe-d-model", type=int, default=1024)
    ap.add_argument("--moe-hidden", type=int, default=512)
    ap.add_argument("--moe-tokens", type=int, default=4096)
    ap.add_argument("--moe-iters", type=int, default=5)
    ap.add_argument("--no-mfu", action="store_true", help="(GPU) skip the olmo2_1b MFU figure")
    ap.add_argument("--mfu-batch", type=int, default=4, help="(GPU) sequences of 4,096 tokens per step")
    args = ap.parse_args()
    if args.moe and args.device == "cpu":
        ap.error(MOE_CPU_REFUSAL)
    run_moe = args.device == "cuda" if args.moe is None else args.moe
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            ap.error("--device cuda: no CUDA device visible to torch")
    rounds = args.rounds or (3 if args.quick else 5)
    steps = args.steps or (1 if args.quick else 2)
    PEER.ensure()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-vs-olmo-core-") as tmp:
        work = Path(tmp)
        main_prep = prepare(work, "wide", args.d_model, args.layers, max(args.d_model // 64, 1), args.batch,
                            args.seq)
        results.append(dense(args, main_prep, variant="", steps=steps, rounds=rounds, fused_loss=True,
                             primary=True))
        if not args.no_30m:
            small = prepare(work, "olmo2_30M", 256, 4, 8, 4, 256)
            results.append(dense(args, small, variant="olmo2_30M", steps=steps, rounds=rounds, fused_loss=True,
                                 primary=False))
        if args.plain_loss:
            results.append(dense(args, main_prep, variant="plain loss", steps=steps, rounds=rounds,
                                 fused_loss=False, primary=False))
    if run_moe:
        results.append(moe(args, rounds))
    if args.device == "cuda" and not args.no_mfu:
        mfu_1b(args.device, steps=10, batch=args.mfu_batch, compile_=args.compile)
    return results


if __name__ == "__main__":
    harness.run(main)
