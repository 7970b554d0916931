"""Benchmark: batched greedy generation, olmo-core's KV-cache ``generate`` (through olmo-eval's
``OlmoCoreGenerator``, the path the generation suite uses) against transformers' ``generate``.

One small random OLMo is built as a transformers ``OlmoForCausalLM`` and saved to a temporary
folder; olmo-core converts that folder (``olmo_core.convert.from_hf``), so both sides run the same
weights. The prompts are the first questions of the shipped Natural Questions task (5-shot, about
110 tokens each), batched the same way (left padding), greedy, the same number of new tokens with
no early stop, on the CPU with the same torch thread count (one by default). Each side runs once to
warm up, then ``--repeats`` times alternately; the best time counts. Reports new tokens per second
for both, the ratio, and whether the greedy tokens are identical, for a few model sizes: the
per-token overhead that olmo-core saves matters most for tiny models, while for larger ones the
shared matrix products (above all the 50k-entry LM head) dominate both sides and the ratio falls.
RESULT reports the first size, the tiny model of the tests; the others are printed beside it.

    uv run python tools/bench/generation.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = REPO.parent / "shared" / "data" / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_models(tmp: Path, hidden: int, layers: int, heads: int):
    import shutil

    from transformers import OlmoConfig, OlmoForCausalLM

    from olmo_core.convert import from_hf
    from olmo_eval.generation.models import load_generator

    torch.manual_seed(0)
    cfg = OlmoConfig(vocab_size=50304, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, max_position_embeddings=2048, eos_token_id=50279, pad_token_id=1,
                     bos_token_id=None, tie_word_embeddings=False)
    hf = OlmoForCausalLM(cfg).eval()
    with torch.no_grad():
        hf.lm_head.weight.mul_(20.0)  # random init is near-uniform: make greedy choices clear-cut
    hf_dir = tmp / "hf"
    hf.save_pretrained(hf_dir)
    shutil.copy(TOKENIZER, hf_dir / "tokenizer.json")
    ours, codec = load_generator(from_hf(hf_dir, tmp / "olmo_core"), tokenizer=hf_dir / "tokenizer.json")
    return hf, ours, codec


def hf_generate(model, prompts: list[list[int]], max_new: int) -> list[list[int]]:
    from transformers import GenerationConfig

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), 1, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    config = GenerationConfig(max_new_tokens=max_new, min_new_tokens=max_new, do_sample=False, eos_token_id=None,
                              pad_token_id=1, temperature=None, top_p=None, top_k=None)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    return [row[width:].tolist() for row in out]


def bench_size(args: argparse.Namespace, hidden: int, layers: int, heads: int) -> dict:
    from olmo_eval.generation.tasks import get_generation_task

    with tempfile.TemporaryDirectory(prefix="bench-generation-") as tmp:
        hf, ours, codec = build_models(Path(tmp), hidden, layers, heads)
        task = get_generation_task("naturalqs_open", limit=args.prompts)
        prompts = [codec.encode(task.prompt(i, "base")) for i in task.instances()]
        batches = [prompts[k:k + args.batch_size] for k in range(0, len(prompts), args.batch_size)]
        params = sum(p.numel() for p in hf.parameters())
        log(f"model d={hidden} layers={layers} heads={heads} vocab=50304 ({params:,} params); {len(prompts)} prompts "
            f"of {min(map(len, prompts))}-{max(map(len, prompts))} tokens, batch {args.batch_size}, "
            f"{args.new_tokens} new tokens, torch threads {torch.get_num_threads()}")

        def run_ours() -> list[list[int]]:
            return [t for b in batches for t in ours.generate(b, args.new_tokens)]

        def run_hf() -> list[list[int]]:
            return [t for b in batches for t in hf_generate(hf, b, args.new_tokens)]

        timings: dict[str, list[float]] = {"olmo-core": [], "transformers": []}
        outputs: dict[str, list[list[int]]] = {}
        for name, fn in (("olmo-core", run_ours), ("transformers", run_hf)):
            outputs[name] = fn()  # warm-up
        for _ in range(args.repeats):
            for name, fn in (("olmo-core", run_ours), ("transformers", run_hf)):
                start = time.perf_counter()
                fn()
                timings[name].append(time.perf_counter() - start)
    total = len(prompts) * args.new_tokens
    ours_tps = total / min(timings["olmo-core"])
    hf_tps = total / min(timings["transformers"])
    # the random model may emit eos early; olmo-core then stops that row, so full lengths are checked
    lengths_ok = all(len(t) == args.new_tokens for t in outputs["olmo-core"])
    identical = outputs["olmo-core"] == outputs["transformers"] and lengths_ok
    same_rows = sum(a == b for a, b in zip(outputs["olmo-core"], outputs["transformers"]))
    print(f"[d={hidden} layers={layers}, {params / 1e6:.1f}M params]")
    print(f"  olmo-core generate:    {ours_tps:10.1f} new tokens/s  (best of {args.repeats}: "
          f"{min(timings['olmo-core']):.3f}s)")
    print(f"  transformers generate: {hf_tps:10.1f} new tokens/s  (best of {args.repeats}: "
          f"{min(timings['transformers']):.3f}s)")
    print(f"  ratio {ours_tps / hf_tps:.2f}; greedy outputs identical: {identical} ({same_rows}/{len(prompts)} rows)",
          flush=True)
    return {"hidden": hidden, "ratio": ours_tps / hf_tps, "ours": ours_tps, "peer": hf_tps, "identical": identical}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer prompts and tokens (about a minute)")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--sizes", default="64x2,128x4,256x4",
                        help="models as d_model x layers; the first (the tiny model the tests use) gives RESULT")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both sides (default 1: per-core figures, stable on a shared machine)")
    args = parser.parse_args()
    if args.quick:
        args.prompts, args.new_tokens, args.repeats = 8, 32, 2
    torch.set_num_threads(args.threads)
    results = []
    for size in args.sizes.split(","):
        hidden, layers = (int(x) for x in size.lower().split("x"))
        results.append(bench_size(args, hidden, layers, heads=4 if hidden < 256 else 8))
    head = results[0]
    others = " ".join(f"ratio_d{r['hidden']}={r['ratio']:.2f}" for r in results[1:])
    identical = all(r["identical"] for r in results)
    print(f"RESULT generation ratio={head['ratio']:.2f} ours_tok_s={head['ours']:.1f} peer_tok_s={head['peer']:.1f} "
          f"{others} identical={identical} target=1.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
