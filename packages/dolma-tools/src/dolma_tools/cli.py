"""``dolma-tools``: the command line. Subcommands live in ``dolma_tools.commands.<name>`` and are
imported only when run, so ``--help`` stays instant.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int``; bad input it raises
(``FormatError``, ``BloomFilterError``, a missing file: ``ValueError`` or ``FileNotFoundError``)
becomes one line on stderr and exit status 2 here, the CLI's one error boundary."""

from __future__ import annotations

import argparse
import importlib
import sys

#: name -> (module, one-line help). A command is listed here once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "tokens": ("dolma_tools.commands.tokens", "tokenize documents into token arrays with sidecars"),
    "tag": ("dolma_tools.commands.tag", "run taggers over documents and write attributes files"),
    "mix": ("dolma_tools.commands.mix", "filter, mask and sample documents by attributes (recipes)"),
    "train-classifier": ("dolma_tools.commands.train_classifier", "train a fastText classifier from labelled documents"),
    "list": ("dolma_tools.commands.list", "list taggers, recipes and executors"),
    "dedupe": ("dolma_tools.commands.dedupe", "mark duplicates: Bloom filter (ids, documents, paragraphs) or MinHash"),
    "decontaminate": ("dolma_tools.commands.decontaminate",
                      "drop or flag training documents holding eval paragraphs (index cached by eval content)"),
    "analyze": ("dolma_tools.commands.analyze", "corpus statistics: sizes, attributes, languages, duplicates, n-grams"),
    "pipeline": ("dolma_tools.commands.pipeline", "tag, filter, dedupe, mix and tokenize in one command, with a funnel"),
    "index": ("dolma_tools.commands.index", "suffix-array index over token shards: build, count, locate, spans"),
    "synth-corpus": ("dolma_tools.commands.synth_corpus",
                     "the sample expanded N times with planted near-duplicates and their true Jaccard"),
}

EPILOG = """examples:
  dolma-tools tokens --documents ../shared/data/corpus --destination out/tokens
  dolma-tools tokens --help
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dolma-tools", description="Documents in, token arrays out: tag, mix, dedupe, tokenize, analyze.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _version() -> str:
    from dolma_tools import __version__

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
    sub = argparse.ArgumentParser(prog=f"dolma-tools {name}", description=COMMANDS[name][1],
                                  epilog=getattr(module, "EPILOG", None),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except (ValueError, FileNotFoundError) as e:  # bad input: the message names the file, line and field
        print(f"dolma-tools {name}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        from dolma_tools.atomic import is_disk_full

        if not is_disk_full(e):
            raise
        # the file being written is named by dolma_tools.atomic; nothing half-written is left under a final name
        print(f"dolma-tools {name}: error: {e.strerror} writing {e.filename}; free space (or choose another "
              "destination) and run the same command again: finished files are kept", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
