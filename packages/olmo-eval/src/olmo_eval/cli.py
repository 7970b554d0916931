"""``olmo-eval``: the command line. Subcommands live in ``olmo_eval.commands.<name>`` and are
imported only when run, so ``--help`` stays instant.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int``. :func:`main` is the one
error boundary: bad input (a missing file, a malformed request or data file, an unknown task, a model
that breaks the contract) ends the command with its message and exit status 2, not a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys

#: what bad input raises anywhere in the package (InterfaceError and the file-format errors are
#: ValueErrors; an unknown task is a KeyError): a message for the user, not a bug
USER_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, NotADirectoryError, IsADirectoryError,
                                                PermissionError, KeyError, ValueError)

#: name -> (module, one-line help). A command is listed here once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("olmo_eval.commands.run", "downstream tasks (OLMES formats) for a checkpoint or HF folder"),
    "perplexity": ("olmo_eval.commands.perplexity", "Paloma-style perplexity over document folders"),
    "decontaminate": ("olmo_eval.commands.decontaminate", "export eval paragraphs for dolma-tools; read back clean flags"),
    "list": ("olmo_eval.commands.list", "registered tasks and suites"),
    "generate": ("olmo_eval.commands.generate", "generation tasks (GSM8K, MATH, HumanEval, MBPP, NQ, LAMBADA)"),
    "learning-curve": ("olmo_eval.commands.learning_curve", "score every revision of a repo in a local hub cache"),
}

EPILOG = """examples:
  olmo-eval --help
  olmo-eval COMMAND --help
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="olmo-eval", description="Evaluate language models: downstream tasks, perplexity, decontamination.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _version() -> str:
    from olmo_eval import __version__

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
    sub = argparse.ArgumentParser(prog=f"olmo-eval {name}", description=COMMANDS[name][1],
                                  epilog=getattr(module, "EPILOG", None),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except USER_ERRORS as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e  # KeyError's str() adds quotes
        print(f"olmo-eval {name}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
