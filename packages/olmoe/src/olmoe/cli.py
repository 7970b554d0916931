"""``olmoe``: the command line. Subcommands live in ``olmoe.commands.<name>`` and are
imported only when run, so ``--help`` stays instant.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int``; bad input they raise
(``ValueError``, ``FileNotFoundError``) becomes one ``olmoe NAME: error: ...`` line and exit status 2,
here and nowhere else."""

from __future__ import annotations

import argparse
import importlib
import sys

#: name -> (module, one-line help). A command is listed here once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("olmoe.commands.analyze", "router saturation, co-activation, domain and vocabulary specialization"),
    "upcycle": ("olmoe.commands.upcycle", "turn a dense olmo-core checkpoint into an MoE one"),
    "convert": ("olmoe.commands.convert", "HF OlmoeForCausalLM to/from olmo-core checkpoints (olmo-core convert + MoE)"),
    "train": ("olmoe.commands.train", "olmo-core train with the olmoe presets (model=olmoe_tiny, olmoe_1b_7b)"),
}

EPILOG = """examples:
  olmoe train --preset tiny model=olmoe_tiny data.paths=[out/tokens] trainer.run_dir=runs/moe
  olmoe analyze runs/moe/checkpoints/step50 --compare runs/moe/checkpoints/step25 --probe ../shared/data/corpus --out out/a
  olmoe upcycle runs/tiny/checkpoints/step50 out/tiny-moe --experts 8 --top-k 2
  olmoe COMMAND --help
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="olmoe", description="Mixture-of-experts for OLMo: train, convert, analyze routing, upcycle dense checkpoints.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _version() -> str:
    from olmoe import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in COMMANDS:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
        return 0
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"olmoe {name}", description=COMMANDS[name][1],
                                  epilog=getattr(module, "EPILOG", None),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except (ValueError, FileNotFoundError) as e:  # bad input (a ConfigError is a ValueError): say it, no traceback
        print(f"olmoe {name}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
