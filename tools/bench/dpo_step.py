"""Benchmark: open-instruct's DPO training against TRL's ``DPOTrainer``, same model, same pairs, CPU.

What is compared: one short DPO training run, start to finish after setup. Both sides get the same
weights (an olmo-core OLMo initialised from seed 0, saved, and converted with
``olmo_core.convert.to_hf`` so TRL loads the very same weights as an HF ``OlmoForCausalLM``), the
same first pairs of ``../shared/data/instruct/dpo.jsonl.zst`` rendered with the Tulu template (TRL
gets the rendered prompt text and the completions and tokenizes them itself; its token ids are
checked against ours), and the same hyperparameters: sigmoid DPO, beta 0.1, AdamW (0.9, 0.999,
eps 1e-8, no weight decay), a constant learning rate, no clipping, the pairs in file order, float32,
the same torch (the peer environment pins the workspace's) and the same thread count.

What is timed, the same scope on both sides (one harness round; weights reset and the optimizer
rebuilt inside it, so every round is the same work): the reference pass over the round's pairs plus
``steps`` optimizer steps.

* ours (``sides/dpo_step_ours.py``): ``open_instruct.ref_cache.compute_reference_logps`` (packed
  rows, the reference log-prob cache), then olmo-core ``Trainer.train_step`` with ``DPOLoss`` on
  packed rows (the LM head on target positions only).
* TRL (``sides/dpo_step_trl.py``, trl 1.16.0 in its own pinned environment), at its best for this
  hardware: ``precompute_ref_log_probs=True`` (the reference pass runs once over the dataset before
  training, the reference model is not kept, and no step runs a second forward; the round times that
  pass, ``_precompute_ref_logps``, the same call ``DPOTrainer.__init__`` makes) and
  ``gradient_checkpointing=False`` (TRL turns checkpointing on by default to save memory, which
  recomputes the forward in the backward; memory is not short here, so off is faster). Why nothing
  else: in trl 1.16 ``padding_free=True`` is "temporarily unavailable since the DPO refactor": it
  warns and falls back to padding (it needed FlashAttention 2/3 anyway, which does not run on a CPU),
  so batches are padded to their longest sequence; ``use_logits_to_keep`` no longer exists, replaced
  by a fused chunked LM head that is always on (it never materialises the full-vocabulary logits,
  but off CUDA/XPU it scores every position, prompt and padding included, not just the targets);
  ``bf16`` (TRL's default) is off on both sides so the losses can be compared (float32 is also what
  ours runs); attention is SDPA, the CPU's best; no ``torch_compile`` on either side. The per-step
  losses are read in ``compute_loss`` and TRL logs at its default interval.
* TRL's defaults as a second figure (variant ``trl defaults``): the same DPOConfig but for those two
  settings, i.e. a separate reference model run on every batch and gradient checkpointing on (and
  still float32, not TRL's default bf16, so the work stays comparable).

Sizes: RESULT is d_model 1024, 2 layers, 16 heads, MLP 2688, the full 50,304-row (tied) embedding;
the toy ``tiny`` preset (d_model 128) is a second figure.

Work check (the harness refuses a ratio otherwise): for every round, the token ids (prompt and
completion of every sequence) are identical, both sides' reference pass scored all the round's
sequences inside the round, and the per-step losses agree within 1e-4 absolute (at step 1 both are
ln 2 up to rounding; later steps differ only by float32 summation order).

tokens/s counts real tokens (prompt + completion of both sequences of each pair, no padding) per
second of the round on both sides; the goal is 1.5x.

    uv run --frozen python tools/bench/dpo_step.py --quick   # ~1-2 min
    uv run --frozen python tools/bench/dpo_step.py           # more steps and pairs per round
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

SIDES = harness.HERE / "sides"
DATA = harness.SHARED / "instruct" / "dpo.jsonl.zst"
PEER = harness.PeerEnv(("trl==1.16.0", "transformers==5.24.0", harness.workspace_pin("torch"),
                        "accelerate==1.16.0", "datasets==5.2.0", harness.workspace_pin("tokenizers")))
LOSS_ATOL = 1e-4
BETA = 0.1


def check_work(a: dict, b: dict) -> tuple[bool, str]:
    if a is None or b is None:
        return False, "a side returned no output"
    if a["ids"] != b["ids"]:
        return False, "token ids differ between open-instruct's tokenization and TRL's"
    if a["ref_sequences"] != b["ref_sequences"] or not a["ref_sequences"]:
        return False, (f"reference pass scored {a['ref_sequences']} sequences (ours) vs {b['ref_sequences']} (TRL) "
                       "in the round")
    ok, note = harness.check_close("per-step losses", atol=LOSS_ATOL)(a["losses"], b["losses"])
    return ok, (f"token ids identical, reference log-probs of {a['ref_sequences']} sequences computed in every "
                f"round on both sides, {len(a['losses'])} {note}")


def load_pairs(n: int, max_length: int):
    """The first ``n`` pairs of the shared file whose two sequences fit ``max_length``, tokenized our way,
    and the same pairs as TRL's text rows."""
    import zstandard

    from open_instruct.data.sources import parse_records
    from open_instruct.data.template import get_template
    from open_instruct.data.tokenize import tokenize_dpo
    from open_instruct.tokenizer import load_tokenizer

    tok, tulu = load_tokenizer(), get_template("tulu")
    kept = []
    with open(DATA, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        for line in text:
            (pair,) = parse_records([json.loads(line)], "dpo", where=str(DATA))
            if tokenize_dpo([pair], tok, tulu, max_length).num_sequences == 2:
                kept.append(pair)
            if len(kept) == n:
                break
    data = tokenize_dpo(kept, tok, tulu, max_length)
    assert data.num_examples == n
    rows = [{"prompt": tulu.render(p.prompt, tok, add_generation_prompt=True),
             "chosen": p.chosen[-1].content, "rejected": p.rejected[-1].content} for p in kept]
    return data, rows


def make_model(work: Path, name: str, d_model: int | None, max_length: int) -> tuple[Path, Path, str]:
    import torch

    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.convert import to_hf
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo

    cfg = get_model_preset("tiny").replace(max_sequence_length=2 * max_length)
    if d_model is not None:
        cfg = cfg.replace(d_model=d_model, n_heads=d_model // 64, mlp_hidden_size=d_model * 8 // 3 // 64 * 64)
    torch.manual_seed(0)
    model = OLMo(cfg)
    model.init_weights(0)
    params = sum(p.numel() for p in model.parameters())
    save_model_checkpoint(model, work / name / "ckpt")
    to_hf(work / name / "ckpt", work / name / "hf")
    size = (f"d_model {cfg.d_model} x {cfg.n_layers} layers, {cfg.n_heads} heads, mlp {cfg.mlp_hidden_size}, "
            f"vocab {cfg.embedding_size:,} ({params / 1e6:.0f}M params)")
    return work / name / "ckpt", work / name / "hf", size


def main() -> list[harness.Result]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer pairs and steps per round (about 1-2 minutes)")
    ap.add_argument("--batch", type=int, default=None, help="pairs per step at d_model 1024 (default 8, quick 2)")
    ap.add_argument("--steps", type=int, default=None, help="steps per round at d_model 1024 (default 4, quick 2)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 5, quick 3)")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-defaults", action="store_true", help="skip the 'trl defaults' figure")
    args = ap.parse_args()
    batch = args.batch or (2 if args.quick else 8)
    steps = args.steps or (2 if args.quick else 4)
    rounds = args.rounds or (3 if args.quick else 5)
    toy_batch, toy_steps = (4 if args.quick else 8), (4 if args.quick else 8)

    import numpy as np

    from olmo_core.tokenizer import default_tokenizer_path

    peer_python = PEER.python
    work = Path(tempfile.mkdtemp(prefix="bench-dpo-"))
    # (variant, d_model or None for the toy preset, batch, steps, TRL at its best, primary)
    plan = [("", 1024, batch, steps, True, True)]
    if not args.no_defaults:
        plan.append(("trl defaults", 1024, batch, steps, False, False))
    plan.append(("toy", None, toy_batch, toy_steps, True, False))
    models: dict[int | None, tuple[Path, Path, str]] = {}
    results = []
    for variant, d_model, b, s, best, primary in plan:
        if d_model not in models:
            models[d_model] = make_model(work, f"m{d_model or 'tiny'}", d_model, args.max_length)
        ckpt, hf_dir, size = models[d_model]
        n = b * s
        tag = f"{variant.replace(' ', '_') or 'main'}"
        data, rows = load_pairs(n, args.max_length)
        np.savez(work / f"{tag}.npz", **data.arrays())
        (work / f"{tag}.json").write_text(json.dumps(rows))
        common = {"batch": b, "steps": s, "lr": args.lr, "beta": BETA, "max_length": args.max_length,
                  "threads": args.threads}
        ours = harness.Worker("open-instruct", SIDES / "dpo_step_ours.py", threads=args.threads,
                              config={**common, "ckpt": str(ckpt), "data": str(work / f"{tag}.npz"),
                                      "ref_rows": 8, "run_dir": str(work / f"{tag}-run")})
        theirs = harness.Worker(f"trl {'best' if best else 'defaults'}", SIDES / "dpo_step_trl.py",
                                python=peer_python, threads=args.threads,
                                config={**common, "hf_dir": str(hf_dir), "tokenizer": str(default_tokenizer_path()),
                                        "rows": str(work / f"{tag}.json"), "out": str(work / f"{tag}-trl"),
                                        "best": best})
        real = int(data.lengths.sum())
        setting = ("DPOConfig(precompute_ref_log_probs=True, gradient_checkpointing=False), padded batches "
                   "(padding_free unavailable in 1.16), fused chunked LM head on every position, float32, sdpa"
                   if best else
                   "DPOConfig defaults: reference model on every batch, gradient checkpointing on, padded; "
                   "float32 instead of the default bf16 so the losses compare")
        results.append(harness.compare(
            "dpo_step", ours, theirs, peer=PEER.label, unit="tokens/s", variant=variant, primary=primary,
            work=(f"{size}; {n} pairs ({real:,} real tokens), reference pass + {s} DPO steps of {b} pairs from "
                  f"the same initial weights, {args.threads} threads"),
            check=check_work, rounds=rounds, goal=1.5, peer_setting=setting,
            limits=("the stacks share torch's matmuls; ours applies the 50k-row head to completion tokens only and "
                    "packs rows, TRL's CPU path scores every prompt and padding position"
                    + ("" if best else ", and recomputes the reference and the checkpointed forward every step")),
            extra={"d_model": d_model or 128, "pairs": n, "batch": b, "steps": s, "real_tokens": real,
                   "loss_atol": LOSS_ATOL, "trl_setting": "best" if best else "defaults"}))
    return results


if __name__ == "__main__":
    harness.run(main)
