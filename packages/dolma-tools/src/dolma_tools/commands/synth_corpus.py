"""``dolma-tools synth-corpus``: the shared sample expanded N times, with planted near-duplicates."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # 4x the shared sample (~40k documents), 10% near-duplicates and 2% exact copies, seed 0
  dolma-tools synth-corpus --scale 4 --documents ../shared/data/corpus --destination out/synth4x
  # then score MinHash against the planted truth
  dolma-tools dedupe --mode minhash --documents out/synth4x/documents --destination out/synth4x/minhash \\
      --truth out/synth4x/truth.jsonl.gz

writes DESTINATION/documents/part-NNNNN.jsonl.gz (Dolma documents), DESTINATION/truth.jsonl.gz (one line
per planted pair: ids a and b, their exact Jaccard over word 5-grams, kind exact/near, target band) and
DESTINATION/synth.json (the summary). The same inputs and seed give byte-identical files.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="files, folders or globs of documents")
    parser.add_argument("--destination", required=True, help="output folder")
    parser.add_argument("--scale", type=float, required=True, help="output documents = SCALE x input documents")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--near-dup-rate", type=float, default=0.10,
                        help="fraction of output documents that are near-duplicate copies (default 0.10)")
    parser.add_argument("--exact-dup-rate", type=float, default=0.02,
                        help="fraction of output documents that are exact copies (default 0.02)")
    parser.add_argument("--bands", default="0.5,0.6,0.7,0.8,0.9,1.0",
                        help="Jaccard band edges the near-duplicates are spread over (default 0.5,...,1.0)")
    parser.add_argument("--shingle-size", type=int, default=5, help="words per shingle for the Jaccard")
    parser.add_argument("--docs-per-shard", type=int, default=2000)
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from dolma_tools.synth import SynthConfig, synth_corpus

    try:
        edges = [float(x) for x in args.bands.split(",")]
    except ValueError:
        raise ValueError(f"--bands: expected comma-separated numbers, got {args.bands!r}") from None
    cfg = SynthConfig(scale=args.scale, seed=args.seed, near_dup_rate=args.near_dup_rate,
                      exact_dup_rate=args.exact_dup_rate, band_edges=edges, shingle_size=args.shingle_size,
                      docs_per_shard=args.docs_per_shard)
    summary = synth_corpus(args.documents, args.destination, cfg, progress=not args.no_progress)
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0
