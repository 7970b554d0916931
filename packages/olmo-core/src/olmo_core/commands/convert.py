"""``olmo-core convert``: olmo-core checkpoints to and from HF transformers folders and the original
OLMo-core 3.0's distributed checkpoints."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # an olmo-core checkpoint (model.safetensors + manifest) -> a folder transformers loads
  olmo-core convert to-hf runs/tiny/checkpoints/step1000 out/tiny-hf
  python -c "import transformers; transformers.AutoModelForCausalLM.from_pretrained('out/tiny-hf')"
  # an HF OLMo / OLMo-2 folder (e.g. a local copy of allenai/OLMo-1B-hf) -> an olmo-core checkpoint
  olmo-core convert from-hf ~/models/OLMo-1B-hf out/olmo-1b
  # an OLMo-core 3.0 training checkpoint (step folder with model_and_optim/, config.json in the save
  # folder above it) -> our training checkpoint: weights, AdamW moments and step, which
  # Trainer.load_checkpoint restores (OLMo-core's data position is its own and is not carried over)
  olmo-core convert from-olmo-core ~/ckpts/olmo2-30M/step1000 out/olmo2-30M-step1000
  # ours -> a folder OLMo-core loads (model_and_optim/ DCP + config.json with its TransformerConfig)
  olmo-core convert to-olmo-core runs/tiny/checkpoints/step1000 out/tiny-olmo-core
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
    foc = sub.add_parser("from-olmo-core", help="OLMo-core 3.0 checkpoint (DCP: model and optimizer) -> "
                                                "olmo-core checkpoint")
    foc.add_argument("checkpoint", help="OLMo-core step folder (model_and_optim/) or DCP directory (.metadata)")
    foc.add_argument("out", help="olmo-core checkpoint folder to write")
    foc.add_argument("--config", default=None,
                     help="OLMo-core config.json (the run's, or a TransformerConfig); default: beside the "
                          "checkpoint or in its parent folder")
    foc.add_argument("--vocab-size", type=int, default=None,
                     help="tokenizer vocabulary size (OLMo-core's config holds only the padded embedding size); "
                          "default 50280, the OLMo-1 tokenizer's")
    foc.add_argument("--eos-token-id", type=int, default=None, help="default 50279")
    foc.add_argument("--pad-token-id", type=int, default=None, help="default 1")
    toc = sub.add_parser("to-olmo-core", help="olmo-core checkpoint -> OLMo-core 3.0 checkpoint folder")
    toc.add_argument("checkpoint", help="olmo-core checkpoint folder (model-only or training)")
    toc.add_argument("out", help="folder to write: model_and_optim/ (DCP) and config.json")
    toc.add_argument("--no-optim", action="store_true", help="weights only, even if the checkpoint has AdamW state")
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
    elif args.direction == "from-olmo-core":
        from olmo_core.convert.olmo_core_io import from_olmo_core

        out = from_olmo_core(args.checkpoint, args.out, config=args.config, vocab_size=args.vocab_size,
                             eos_token_id=args.eos_token_id, pad_token_id=args.pad_token_id)
        console.print(f"wrote olmo-core checkpoint {out}")
    elif args.direction == "to-olmo-core":
        from olmo_core.convert.olmo_core_io import to_olmo_core

        out = to_olmo_core(args.checkpoint, args.out, with_optim=not args.no_optim)
        console.print(f"wrote OLMo-core checkpoint {out}")
    else:
        from olmo_core.checkpoint.model_io import save_model_checkpoint
        from olmo_core.model import get_model_preset

        model = get_model_preset(args.preset).build()
        model.init_weights(seed=args.seed)
        out = save_model_checkpoint(model, args.out)
        console.print(f"wrote {args.preset} checkpoint {out} ({model.num_params():,} parameters)")
    return 0
