"""``olmo-core``: the command line. Subcommands live in ``olmo_core.commands.<name>``, dispatched by
:func:`olmo_core.dispatch.run_cli` (imported only when run; bad input exits 2 with one message)."""

from __future__ import annotations

import sys

from olmo_core.dispatch import run_cli

#: name -> (module, one-line help). A command is listed here once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("olmo_core.commands.train", "pretrain a model from a preset plus hydra overrides"),
    "data-order": ("olmo_core.commands.data_order", "what step N trained on: instances, documents, tokens"),
    "launch": ("olmo_core.commands.launch", "write a Slurm script for an A100 cluster or LUMI"),
    "convert": ("olmo_core.commands.convert", "convert model checkpoints to and from HF transformers"),
}

EPILOG = """examples:
  olmo-core --help
  olmo-core COMMAND --help
"""


def _version() -> str:
    from olmo_core import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    return run_cli("olmo-core", "OLMo models and the trainer: train, convert, data-order.", COMMANDS, argv,
                   version=_version, epilog=EPILOG)


if __name__ == "__main__":
    sys.exit(main())
