"""Progress bars for runs: files, documents/s and MB/s (rich), or nothing when disabled."""

from __future__ import annotations

import time
from typing import Any


class RunProgress:
    def __init__(self, description: str, total_tasks: int, total_bytes: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.start = time.monotonic()
        self.docs = 0
        self.nbytes = 0
        self.tasks = 0
        self._progress: Any = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[files]}"), TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
            self._progress.start()
            self._task = self._progress.add_task(description, total=max(total_bytes, 1),
                                                 files=f"0/{total_tasks} files", rate="")
        self.total_tasks = total_tasks

    def update(self, docs: int = 0, nbytes: int = 0, tasks: int = 0, file_bytes: int = 0) -> None:
        """``docs``/``nbytes`` (text read) feed the rates; ``tasks``/``file_bytes`` move the bar."""
        self.docs += docs
        self.nbytes += nbytes
        self.tasks += tasks
        if self._progress is not None:
            dt = max(time.monotonic() - self.start, 1e-6)
            self._progress.update(self._task, advance=file_bytes, files=f"{self.tasks}/{self.total_tasks} files",
                                  rate=f"{self.docs / dt:,.0f} docs/s {self.nbytes / dt / 1e6:,.1f} MB/s")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
