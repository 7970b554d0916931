"""Benchmark: batched greedy generation, olmo-core's KV-cache ``generate`` (through olmo-eval's
``OlmoCoreGenerator``, the path the generation suite uses) against transformers' ``generate``.

What is compared. One random OLMo per size is built as a transformers ``OlmoForCausalLM`` (the full
50,304-token vocabulary, untied LM head scaled by 20 so the random model's greedy choices are
clear-cut) and saved to a temporary folder; olmo-core converts that folder
(``olmo_core.convert.from_hf``), so both sides run the same float32 weights. The prompts are the first
``--prompts`` questions of the shipped Natural Questions task (5-shot, about 110 tokens each), tokenized
once here and handed to both sides as token ids, in the same batches of ``--batch-size``, left padded
with pad id 1 and masked. Both sides decode greedily with the SAME stopping rule: eos 50279, at most
``--new-tokens`` new tokens, a row stops at eos and a batch ends once all its rows have (no
``min_new_tokens``, no forced length).

What is timed, the same scope on each side: one round is generating for every batch (prefill and
decode, cache allocation included), inside the side's own long-lived process; model loading and
tokenization are setup. The unit is tokens generated per second (each row's new tokens plus its eos
when it hit one, identical on both sides because the tokens are). Both sides run on the CPU with the
same torch thread count (``--threads``, default 2: the machine's two cores), set with both
``OMP_NUM_THREADS`` and ``torch.set_num_threads``.

The peer's setting: transformers==5.24.0 on exactly our torch, float32, ``attn_implementation="sdpa"``
(the default and the fastest transformers documents for CPU; ``eager`` materializes the attention
matrix), ``torch.inference_mode``, and the default dynamic KV cache. ``cache_implementation="static"``
was measured as well and is no faster without ``torch.compile`` (d_model 1024, 8 prompts x 16 tokens, one
thread, alternating: 3.73-3.89 s dynamic vs 3.73-3.82 s static, identical tokens), so the default is
kept; ``torch.compile`` (what the static cache exists for) costs minutes of compilation on two cores,
more than the whole benchmark, recompiles for every batch shape, and is not what eager ``generate``
gives a user. The full run shows the static cache as a second figure (``--peer-cache static`` adds it to
--quick too).
float32 on both sides because bf16 on this CPU changes the tokens on both sides differently, so the
outputs could not be checked identical; the issue's claim is about float32 equal work.

Work check: the generated token ids must be identical, row by row, in every round (``check_equal``);
otherwise no ratio is printed and the process exits 2.

Sizes: RESULT (primary) is d_model 1024 x 2 layers (16 heads) with the full vocabulary, the issue's
realistic width ("generation >= 1.5x at d_model >= 512 with identical tokens"); the toy 64 x 2 (the
tests' model) and 512 x 2 are the second figures. At the toy size per-token Python overhead dominates,
which olmo-core saves; at d_model 1024 the shared matrix products (above all the 50k-row LM head, run
for the last position only on both sides) take most of each step and the ratio falls.
Measured (--quick, near-idle 2-core EPYC, 2 threads): d1024 1.03x, d512 1.02x, d64 1.40x, tokens identical;
the full run: d1024 1.06x (1.0x against the static cache), d512 1.07x, d64 1.34x. The 1.5x goal is not
met at d_model >= 512: both sides run the same float32 matmuls there, and the overhead olmo-core saves
is a small part of a step.

    uv run --frozen python tools/bench/generation.py --quick     # about 1-2 minutes
    uv run --frozen python tools/bench/generation.py             # more prompts, tokens and rounds
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

NAME = "generation"
SIDES = harness.HERE / "sides"
TOKENIZER = harness.SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
VOCAB, EOS, PAD = 50304, 50279, 1
GOAL = 1.5


def build(folder: Path, sizes: list[tuple[int, int]], n_prompts: int) -> None:
    """In a child process (so this one never holds torch or the weights, which a worker would
    otherwise inherit in its ``ru_maxrss`` at fork): for each size save a random ``OlmoForCausalLM``
    under ``folder/dHxL/hf`` and its olmo-core conversion under ``folder/dHxL/olmo_core``, and write the
    tokenized prompts to ``folder/prompts.json``."""
    import torch
    from transformers import OlmoConfig, OlmoForCausalLM

    from olmo_core.convert import from_hf
    from olmo_eval.tasks import get_task
    from olmo_eval.tokenizer import load_tokenizer

    codec = load_tokenizer(TOKENIZER)
    task = get_task("naturalqs_open", limit=n_prompts)
    prompts = [codec.encode(task.prompt(i, "base")) for i in task.instances()]
    (folder / "prompts.json").write_text(json.dumps(prompts))
    for hidden, layers in sizes:
        torch.manual_seed(0)
        cfg = OlmoConfig(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=4 * hidden,
                         num_hidden_layers=layers, num_attention_heads=heads_for(hidden),
                         max_position_embeddings=2048, eos_token_id=EOS, pad_token_id=PAD, bos_token_id=None,
                         tie_word_embeddings=False)
        hf = OlmoForCausalLM(cfg).eval()
        with torch.no_grad():
            hf.lm_head.weight.mul_(20.0)  # random init is near-uniform: make greedy choices clear-cut
        out = folder / f"d{hidden}x{layers}"
        hf.save_pretrained(out / "hf")
        shutil.copy(TOKENIZER, out / "hf" / "tokenizer.json")
        from_hf(out / "hf", out / "olmo_core")
        (out / "params.json").write_text(json.dumps(sum(p.numel() for p in hf.parameters())))
        del hf


def heads_for(hidden: int) -> int:
    return max(4, hidden // 64)  # head dim 64, as OLMo's


def bench_size(args: argparse.Namespace, folder: Path, prompts: list[list[int]], hidden: int, layers: int, *,
               primary: bool, cache: str = "") -> harness.Result:
    heads = heads_for(hidden)
    batches = [prompts[k:k + args.batch_size] for k in range(0, len(prompts), args.batch_size)]
    env = harness.PeerEnv(("transformers==5.24.0", harness.workspace_pin("torch")))
    models = folder / f"d{hidden}x{layers}"
    params = json.loads((models / "params.json").read_text())
    common: dict[str, Any] = {"batches": batches, "max_new_tokens": args.new_tokens, "eos_token_id": EOS,
                              "pad_token_id": PAD, "threads": args.threads}
    ours = harness.Worker("olmo-core generate", SIDES / "generation_ours.py",
                          {**common, "olmo_core_dir": str(models / "olmo_core"), "tokenizer": str(TOKENIZER)},
                          threads=args.threads)
    theirs = harness.Worker("transformers generate", SIDES / "generation_hf.py",
                            {**common, "hf_dir": str(models / "hf"), "attn": "sdpa", "cache": cache},
                            python=env.python, threads=args.threads)
    size = f"d_model {hidden} x {layers} layers, {heads} heads, vocab {VOCAB:,} ({params / 1e6:.0f}M params)"
    variant = "" if primary else f"d{hidden}x{layers}"
    if cache:
        variant = f"{variant or f'd{hidden}x{layers}'}, peer {cache} cache"
    return harness.compare(
        NAME, ours, theirs, peer=env.label, unit="tokens/s", rounds=args.rounds, variant=variant,
        primary=primary, goal=GOAL,
        work=(f"greedy generation, {size}, float32; {len(prompts)} Natural Questions 5-shot prompts "
              f"({min(map(len, prompts))}-{max(map(len, prompts))} tokens) in left-padded batches of "
              f"{args.batch_size}; up to {args.new_tokens} new tokens, stop at eos {EOS} both sides; "
              f"{args.threads} torch threads each"),
        peer_setting=(f"transformers generate, sdpa attention, {cache or 'dynamic (default)'} KV cache, "
                      "float32, inference_mode, same eos/max_new_tokens, no min_new_tokens"),
        check=harness.check_equal("generated token ids per row"),
        limits=("per-step Python/dispatch overhead (cache, masks, logits processors) is what olmo-core saves; "
                "at d_model >= 1024 the shared matmuls, above all the 50k-row LM head, dominate both sides"),
        extra={"d_model": hidden, "layers": layers, "heads": heads, "params": params,
               "prompts": len(prompts), "batch_size": args.batch_size, "max_new_tokens": args.new_tokens,
               "threads": args.threads, "peer_cache": cache or "dynamic"})


def main() -> list[harness.Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer prompts and tokens (about 1-2 minutes)")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--sizes", default="1024x2,64x2,512x2",
                        help="models as d_model x layers; the first gives RESULT, the others second figures")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both sides (default 2)")
    parser.add_argument("--peer-cache", default=None,
                        help="also run the first size with this transformers cache_implementation "
                             "(default: 'static' in the full run, none with --quick)")
    parser.add_argument("--build-into", help=argparse.SUPPRESS)  # internal: the model-building child
    args = parser.parse_args()
    if args.build_into:
        build(Path(args.build_into), [tuple(int(x) for x in s.lower().split("x")) for s in args.sizes.split(",")],
              args.prompts)
        sys.exit(0)
    if args.quick:
        args.prompts, args.new_tokens, args.rounds = 8, 32, 3
    extra_cache = args.peer_cache if args.peer_cache is not None else ("" if args.quick else "static")
    sizes = [tuple(int(x) for x in size.lower().split("x")) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-generation-") as tmp:
        folder = Path(tmp)
        harness.log(f"building {len(sizes)} random OLMo models and their olmo-core conversions in {folder} ...")
        subprocess.run([sys.executable, __file__, "--build-into", tmp, "--sizes", args.sizes,
                        "--prompts", str(args.prompts)], check=True, env={**os.environ, **harness.OFFLINE_ENV})
        prompts = json.loads((folder / "prompts.json").read_text())
        results = []
        for i, (hidden, layers) in enumerate(sizes):
            results.append(bench_size(args, folder, prompts, hidden, layers, primary=i == 0))
            if i == 0 and extra_cache:
                results.append(bench_size(args, folder, prompts, hidden, layers, primary=False, cache=extra_cache))
    return results


if __name__ == "__main__":
    harness.run(main)
