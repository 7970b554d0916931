"""Benchmark: tokens/s of olmo-core's training step against the same model in ``transformers``
(``OlmoForCausalLM`` with ``torch.optim.AdamW`` in a plain loop), on the CPU by default.

Same model config (OLMo-1 layout: non-affine LayerNorm, SwiGLU, RoPE, tied embeddings, the 50,304-row
OLMo vocabulary), same batch of real tokens, same
precision (float32 on the CPU), same optimizer hyperparameters and clipping at 1.0. Ours runs the full
``Trainer.train_step`` (global-token loss normalization, clipping, metrics, batch digest) with fused
AdamW; ``--compile`` also compiles each block with ``torch.compile`` (off by default). Rounds alternate
ours and theirs so both see the same machine load; the ratio is the median of per-round ratios.

    uv run python tools/bench/train_step.py [--quick] [--compile] [--plain-loss] [--device cuda] [--mfu-olmo-1b]

Our loss fuses the output head with the cross-entropy in row chunks (never building the float32
``[B*T, V]`` logits; same loss and gradients); ``--plain-loss`` measures the unfused path instead.
``--mfu-olmo-1b`` (on a GPU) also measures our step's MFU for ``olmo_1b`` at sequence length 2048."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packages" / "olmo-core" / "tests" / "train"))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def real_batch(batch: int, seq: int, seed: int = 0) -> torch.Tensor:
    """Tokens of the shared corpus through the OLMo tokenizer (falls back to random ids)."""
    tok_path = REPO.parent / "shared" / "data" / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
    try:
        import io
        import json

        import zstandard
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tok_path))
        path = sorted((REPO.parent / "shared" / "data" / "corpus" / "books").glob("*.jsonl.zst"))[0]
        ids: list[int] = []
        with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as r:
            for line in io.TextIOWrapper(r, encoding="utf-8"):
                ids += tok.encode(json.loads(line)["text"]).ids + [50279]
                if len(ids) > batch * (seq + 1):
                    break
        return torch.tensor(ids[: batch * (seq + 1)]).view(batch, seq + 1)
    except Exception as e:  # noqa: BLE001 - the benchmark still runs without the shared data
        log(f"no real tokens ({e}); using random ids")
        return torch.randint(0, 50280, (batch, seq + 1), generator=torch.Generator().manual_seed(seed))


def our_step(cfg, tokens: torch.Tensor, device: torch.device, compile_blocks: bool, lr: float,  # type: ignore[no-untyped-def]
             fused_loss: bool = True):
    from trainer_testlib import ListLoader

    from olmo_core.distributed.parallelize import ParallelConfig, parallelize
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig, build_optimizer
    from olmo_core.train.loss import LanguageModelingLoss
    from olmo_core.train.trainer import Trainer, TrainerConfig

    model = OLMo(cfg).to(device)
    model.init_weights(0)
    pcfg = ParallelConfig(strategy="single", param_dtype="float32", compile=compile_blocks)
    model = parallelize(model, pcfg, device)
    ocfg = OptimConfig(lr=lr, warmup_steps=0, scheduler="constant", max_grad_norm=1.0)
    opt = build_optimizer(model, ocfg)
    mb = {"input_ids": tokens[:, :-1].contiguous(), "labels": tokens[:, 1:].contiguous()}
    trainer = Trainer(model=model, optimizer=opt, loss_fn=LanguageModelingLoss(fused=fused_loss),
                      loader=ListLoader([]),
                      cfg=TrainerConfig(run_dir="/tmp/bench-train-step", max_steps=10**9, callbacks={}),
                      optim_cfg=ocfg, parallel_cfg=pcfg, device=device)

    def step() -> float:
        m = trainer.train_step([mb])
        trainer.step += 1
        return m["train/loss"]

    return model, step


def their_step(cfg, tokens: torch.Tensor, device: torch.device, lr: float):  # type: ignore[no-untyped-def]
    from transformers import OlmoConfig, OlmoForCausalLM

    hf_cfg = OlmoConfig(vocab_size=cfg.embedding_size, hidden_size=cfg.d_model, intermediate_size=cfg.mlp_hidden_size,
                        num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
                        num_key_value_heads=cfg.kv_heads, max_position_embeddings=cfg.max_sequence_length,
                        rope_theta=cfg.rope_theta, tie_word_embeddings=cfg.weight_tying, attention_bias=False,
                        pad_token_id=cfg.pad_token_id, eos_token_id=cfg.eos_token_id, bos_token_id=None)
    model = OlmoForCausalLM(hf_cfg)
    model.config._attn_implementation = "sdpa"
    model.to(device).train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-5)
    ids = tokens.to(device)

    def step() -> float:
        # transformers shifts labels itself: inputs are the first T+1 tokens, T targets as ours
        out = model(input_ids=ids[:, :-1], labels=ids[:, :-1].clone())
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(out.loss.detach())

    return model, step


def timed(step, n: int, device: torch.device) -> float:  # type: ignore[no-untyped-def]
    return timed2(step, n, device)[0]


def timed2(step, n: int, device: torch.device) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process) for ``n`` steps."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, time.process_time() - c


def mfu_olmo_1b(device: torch.device, steps: int) -> None:
    from olmo_core.distributed.parallelize import ParallelConfig, parallelize
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig, build_optimizer
    from olmo_core.train.callbacks.speed import device_name, peak_flops
    from olmo_core.train.loss import LanguageModelingLoss

    cfg = get_model_preset("olmo_1b")
    model = OLMo(cfg).to(device)
    model = parallelize(model, ParallelConfig(strategy="single", param_dtype="bfloat16",
                                              activation_checkpointing="none"), device)
    opt = build_optimizer(model, OptimConfig(lr=4e-4))
    loss_fn = LanguageModelingLoss()
    toks = torch.randint(0, 50280, (4, 2049), device=device)
    mb = {"input_ids": toks[:, :-1], "labels": toks[:, 1:]}

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = loss_fn(model, mb)
        (out.loss_sum / 4 / 2048).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    timed(step, 2, device)
    dt = timed(step, steps, device)
    tps = 4 * 2048 * steps / dt
    peak = peak_flops(device_name(device))
    fpt = model.flops_per_token(2048)
    mfu = "unknown" if peak is None else f"{tps * fpt / peak:.1%}"
    print(f"olmo_1b seq 2048 batch 4 bf16 on {device_name(device)}: {tps:,.0f} tokens/s, MFU {mfu}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (about a minute)")
    ap.add_argument("--compile", action="store_true", help="torch.compile each of our blocks")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None, help="steps per round and side")
    ap.add_argument("--mfu-olmo-1b", action="store_true")
    ap.add_argument("--plain-loss", action="store_true",
                    help="our loss without the fused chunked head + cross-entropy (full [B*T, V] logits)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    rounds = args.rounds or (3 if args.quick else 7)
    steps = args.steps or (2 if args.quick else 4)

    from olmo_core.model.presets import get_model_preset

    cfg = get_model_preset("tiny").replace(d_model=args.d_model, n_layers=args.layers, n_heads=max(args.d_model // 64, 1),
                                           mlp_hidden_size=args.d_model * 8 // 3 // 64 * 64 or 64)
    tokens = real_batch(args.batch, args.seq)
    ours_model, ours = our_step(cfg, tokens, device, args.compile, lr=4e-4, fused_loss=not args.plain_loss)
    theirs_model, theirs = their_step(cfg, tokens, device, lr=4e-4)
    n_ours = sum(p.numel() for p in ours_model.parameters())
    n_theirs = sum(p.numel() for p in theirs_model.parameters())
    log(f"model: d_model {cfg.d_model}, {cfg.n_layers} layers, mlp {cfg.mlp_hidden_size}, vocab rows "
        f"{cfg.embedding_size}; params ours {n_ours:,} / transformers {n_theirs:,}; batch {args.batch} x {args.seq}, "
        f"float32, {device}, {torch.get_num_threads()} threads, compile={args.compile}, fused loss={not args.plain_loss}")
    l0 = (ours(), theirs())
    log(f"first-step loss: ours {l0[0]:.4f}, transformers {l0[1]:.4f}")
    timed(ours, 1, device)
    timed(theirs, 1, device)
    tokens_per_round = args.batch * args.seq * steps
    ratios, cpu_ratios, t_ours, t_theirs = [], [], [], []
    for r in range(rounds):
        a, ca = timed2(ours, steps, device)
        b, cb = timed2(theirs, steps, device)
        t_ours.append(a)
        t_theirs.append(b)
        ratios.append(b / a)
        cpu_ratios.append(cb / ca)
        log(f"round {r + 1}/{rounds}: ours {tokens_per_round / a:,.0f} tok/s, transformers "
            f"{tokens_per_round / b:,.0f} tok/s, ratio {b / a:.3f} (CPU-time ratio {cb / ca:.3f})")
    ours_tps = tokens_per_round / statistics.median(t_ours)
    theirs_tps = tokens_per_round / statistics.median(t_theirs)
    ratio = statistics.median(ratios)
    # On a shared machine wall time swings with other load; CPU time of each side is steadier.
    cpu_ratio = statistics.median(cpu_ratios)
    print(f"ours (olmo-core Trainer.train_step): {ours_tps:,.0f} tokens/s")
    print(f"transformers OlmoForCausalLM + AdamW loop: {theirs_tps:,.0f} tokens/s")
    if args.mfu_olmo_1b:
        mfu_olmo_1b(device, steps)
    print(f"RESULT train_step ratio={ratio:.3f} ours_tok_s={ours_tps:.0f} theirs_tok_s={theirs_tps:.0f} "
          f"cpu_time_ratio={cpu_ratio:.3f} device={device.type} threads={torch.get_num_threads()} compile={args.compile} "
          f"fused_loss={not args.plain_loss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
