"""The one progress bar of the package (rich), or nothing when it is switched off."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str, total: int, done: int = 0) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)``; a no-op when not ``enabled``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=False)
    bar.start()
    tid = bar.add_task(description, total=total, completed=done)
    try:
        yield lambda n: bar.advance(tid, n)
    finally:
        bar.stop()
