"""The command-line dispatcher olmo-core's and its dependents' console scripts share: subcommands in
modules imported only when run (so ``--help`` stays instant), each defining ``add_arguments(parser)``
and ``run(args) -> int``, and the one error boundary that turns bad input into a message and exit 2."""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Callable, Mapping

#: exit status of a run refused for bad input (argparse's own usage errors exit 2 too)
EXIT_BAD_INPUT = 2
#: exit status of a run that could not write its outputs (a full disk, a checkpoint write that failed)
EXIT_WRITE_FAILED = 1


def bad_input_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean the input was wrong, not the code: a config field or override (their
    messages name the field), a missing file, a damaged checkpoint or data file."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (ValueError, FileNotFoundError, NotADirectoryError, OmegaConfBaseException, HydraException)


def is_write_failure(e: BaseException) -> bool:
    """The run could not write (no space, quota, a failed checkpoint write): the machine's fault, not the
    input's; the error already names the path, so one line says it all."""
    if not isinstance(e, OSError):
        return False
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    from olmo_core.checkpoint.manager import CheckpointWriteError  # torch: only once a run has failed

    return isinstance(e, CheckpointWriteError)


def run_cli(prog: str, description: str, commands: Mapping[str, tuple[str, str]], argv: list[str] | None,
            *, version: Callable[[], str], epilog: str | None = None) -> int:
    """``commands``: name -> (module, one-line help)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in commands.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] not in commands:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
        return 0
    name = argv[0]
    module = importlib.import_module(commands[name][0])
    cmd = argparse.ArgumentParser(prog=f"{prog} {name}", description=commands[name][1],
                                  epilog=getattr(module, "EPILOG", None),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(cmd)
    args = cmd.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except Exception as e:
        if isinstance(e, bad_input_errors()):
            print(f"{prog} {name}: error: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if is_write_failure(e):
            print(f"{prog} {name}: error: {e}", file=sys.stderr)
            return EXIT_WRITE_FAILED
        raise
