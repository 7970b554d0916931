"""What the dolma benchmarks share: the original toolkit in its own venv, and timing a command with
the peak resident memory of its whole process tree."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

PEER_VENV = Path(os.environ.get("DOLMA_PEER_VENV", "/tmp/bench-peer-dolma"))


def ensure_peer() -> Path:
    """The ``dolma`` executable of PyPI's dolma, installed into :data:`PEER_VENV` on first use."""
    exe = PEER_VENV / "bin" / "dolma"
    if not exe.exists():
        print(f"installing the original dolma into {PEER_VENV} ...", file=sys.stderr, flush=True)
        subprocess.run(["uv", "venv", "-q", "--allow-existing", "-p", "3.11", str(PEER_VENV)], check=True)
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(PEER_VENV / "bin" / "python"), "dolma"],
                       check=True)
    return exe


def tree_rss(pid: int) -> int:
    """Summed resident memory (bytes) of a process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak summed RSS of ``cmd``; raises with the tail of its stderr if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return elapsed, peak
