"""``olmoe analyze``: router saturation, co-activation and specialization of MoE checkpoints."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # the final checkpoint of a run against two earlier ones, probed with the shared corpus
  olmoe analyze runs/moe/checkpoints/step200 --compare runs/moe/checkpoints/step50 \\
      runs/moe/checkpoints/step100 --probe ../shared/data/corpus --out out/moe-analysis
  # a tokenized probe set (dolma-tools tokens output: sources come from the sidecars)
  olmoe analyze runs/moe/checkpoints/step200 --probe out/tokens --docs-per-source 20 --out out/a
writes <out>/analysis.json and saturation.png, coactivation.png, domain_specialization.png,
vocabulary_specialization.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="final olmo-core checkpoint folder of an MoE model")
    parser.add_argument("--compare", nargs="*", default=[], metavar="CHECKPOINT",
                        help="earlier checkpoints: router saturation of each against the final one")
    parser.add_argument("--probe", required=True,
                        help="Dolma documents (.jsonl[.gz|.zst], e.g. ../shared/data/corpus) or a tokenized dataset")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--docs-per-source", type=int, default=8)
    parser.add_argument("--max-tokens-per-doc", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--min-count", type=int, default=5,
                        help="vocabulary specialization: token ids seen fewer times are left out")
    parser.add_argument("--tokenizer", default=None, help="tokenizer.json (default: the OLMo tokenizer)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from olmo_core.tokenizer import load_olmo_tokenizer
    from olmoe.analysis.probe import load_probe
    from olmoe.analysis.report import analyze

    console = Console(stderr=True)
    probe = load_probe(args.probe, docs_per_source=args.docs_per_source, max_tokens_per_doc=args.max_tokens_per_doc,
                       tokenizer=args.tokenizer)
    console.print(f"probe: {len(probe.docs)} documents, {probe.num_tokens:,} tokens, "
                  f"sources {sorted(set(probe.sources))}")
    result = analyze(args.checkpoint, args.compare, probe, args.out, seq_len=args.seq_len, min_count=args.min_count,
                     tokenizer=load_olmo_tokenizer(args.tokenizer))
    for s in result["router_saturation"]:
        console.print(f"saturation step {s['step']} vs {result['final_step']}: "
                      + " ".join(f"{v:.3f}" for v in s["per_layer"]))
    for v in result["vocabulary_specialization"]:
        console.print(f"layer {v['layer']}: {v['tokens_with_min_count']} frequent tokens, mean top-expert fraction "
                      f"{v['mean_top_fraction'] if v['mean_top_fraction'] is None else round(v['mean_top_fraction'], 3)}"
                      f" (uniform {v['uniform_fraction']:.3f})")
    console.print(f"wrote {args.out}/analysis.json and {len(result['figures'])} figures")
    return 0
