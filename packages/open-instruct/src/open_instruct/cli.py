"""``open-instruct``: the command line. Subcommands live in ``open_instruct.commands.<name>``,
dispatched by olmo-core's :func:`olmo_core.dispatch.run_cli` (imported only when run, so ``--help``
stays instant; bad input exits 2 with one message)."""

from __future__ import annotations

import sys

from olmo_core.dispatch import run_cli

#: name -> (module, one-line help). A command is listed here once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "sft": ("open_instruct.commands.sft", "supervised fine-tuning on chat data (Tulu template, packed)"),
    "dpo": ("open_instruct.commands.dpo", "preference tuning: dpo, dpo_norm, ipo, simpo, hinge"),
    "grpo": ("open_instruct.commands.grpo", "RL with verifiable rewards: GRPO, Dr. GRPO, DAPO"),
    "tasks": ("open_instruct.commands.tasks", "write a procedural verifiable-task suite (train, held-out)"),
    "pref-acc": ("open_instruct.commands.pref_acc", "held-out preference accuracy of a checkpoint"),
    "verify-acc": ("open_instruct.commands.verify_acc", "verified accuracy of a checkpoint on task examples"),
}

EPILOG = """examples:
  open-instruct --help
  open-instruct COMMAND --help
"""


def _version() -> str:
    from open_instruct import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    return run_cli("open-instruct", "Adapt OLMo models: supervised fine-tuning, preference tuning (DPO) and RL "
                   "with verifiable rewards (GRPO).",
                   COMMANDS, argv, version=_version, epilog=EPILOG)


if __name__ == "__main__":
    sys.exit(main())
