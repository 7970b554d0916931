"""``olmo-core convert``: olmo-core model checkpoints to and from HF transformers folders."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # an olmo-core checkpoint (model.safetensors + manifest) -> a folder transformers loads
  olmo-core convert to-hf runs/tiny/checkpoints/step1000 out/tiny-hf
  python -c "import transformers; transformers.AutoModelForCausalLM.from_pretrained('out/tiny-hf')"
  # an HF OLMo / OLMo-2 folder (e.g. a local copy of allenai/OLMo-1B-hf) -> an olmo-core checkpoint
  olmo-core convert from-hf ~/models/OLMo-1B-hf out/olmo-1b
  # a random model of a preset, to try the round trip
  olmo-core convert init --preset tiny out/tiny-random
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="direction", metavar="DIRECTION", required=True)
    to = sub.add_parser("to-hf", help="olmo-core checkpoint -> HF folder (OlmoForCausalLM / Olmo2ForCausalLM)")
    to.add_argument("checkpoint", help="olmo-core checkpoint folder (config.json, model.safetensors, manifest.json)")
    to.add_argument("out", help="HF folder to write")
    to.add_argument("--tokenizer", default="auto",
                    help="'auto' (the shipped OLMo tokenizer when the vocabulary matches), 'none', or a "
                         "tokenizer.json path")
    to.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    frm = sub.add_parser("from-hf", help="HF OLMo / OLMo-2 folder -> olmo-core checkpoint")
    frm.add_argument("hf_dir", help="folder with config.json and model.safetensors (or shards)")
    frm.add_argument("out", help="olmo-core checkpoint folder to write")
    frm.add_argument("--step", type=int, default=0, help="step recorded in the manifest")
    init = sub.add_parser("init", help="write a randomly initialized checkpoint of a preset")
    init.add_argument("out", help="olmo-core checkpoint folder to write")
    init.add_argument("--preset", default="tiny", help="model preset (see olmo_core.model.presets)")
    init.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    if args.direction == "to-hf":
        from olmo_core.convert import to_hf

        tok = None if args.tokenizer == "none" else args.tokenizer
        out = to_hf(args.checkpoint, args.out, tokenizer=tok, overwrite=args.overwrite)
        console.print(f"wrote HF folder {out}")
    elif args.direction == "from-hf":
        from olmo_core.convert import from_hf

        out = from_hf(args.hf_dir, args.out, step=args.step)
        console.print(f"wrote olmo-core checkpoint {out}")
    else:
        from olmo_core.checkpoint.model_io import save_model_checkpoint
        from olmo_core.model import get_model_preset

        model = get_model_preset(args.preset).build()
        model.init_weights(seed=args.seed)
        out = save_model_checkpoint(model, args.out)
        console.print(f"wrote {args.preset} checkpoint {out} ({model.num_params():,} parameters)")
    return 0
