"""One side of a benchmark in its own process (see ``harness.Worker``). Standard library only, because
it runs in the peers' pinned environments too.

    python _worker.py SIDE_SCRIPT      # then JSON requests on stdin, one per line

``SIDE_SCRIPT`` defines ``setup(config) -> round_fn``; ``round_fn()`` returns
``{"units": float, "output": ..., "device": "cpu" | "cuda"}``. Replies go to the real stdout as lines
starting with ``@@BENCH``; anything the side prints goes to stderr, so library chatter never breaks
the protocol.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback


def main() -> None:
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # the side's own prints (and its libraries') go to stderr
    sys.stdout = sys.stderr
    replies = os.fdopen(reply_fd, "w", buffering=1)

    def reply(obj: dict) -> None:
        replies.write("@@BENCH " + json.dumps(obj) + "\n")
        replies.flush()

    path = sys.argv[1]
    spec = importlib.util.spec_from_file_location("bench_side", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    round_fn = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "setup":
                spec.loader.exec_module(module)
                round_fn = module.setup(request["config"])
                reply({"ok": True})
            elif request["op"] == "round":
                reply(timed_round(round_fn))
            elif request["op"] == "exit":
                reply({"ok": True})
                return
        except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it
            traceback.print_exc()
            reply({"error": f"{type(e).__name__}: {e}"})


def _cuda():
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch
    return None


def _vm_hwm() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def timed_round(round_fn) -> dict:
    cuda = _cuda()
    if cuda is not None:
        cuda.cuda.synchronize()
        cuda.cuda.reset_peak_memory_stats()
    t0, c0 = time.perf_counter(), time.process_time()
    out = round_fn()
    cuda = _cuda()
    if cuda is not None:
        cuda.cuda.synchronize()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    # the worker's own high-water mark (exact, unlike polling). VmHWM belongs to this process's address
    # space; ru_maxrss would not do: Linux carries the parent's peak into it across fork + exec.
    maxrss = _vm_hwm()
    result = {"seconds": seconds, "cpu_seconds": cpu, "units": out["units"], "output": out.get("output"),
              "maxrss_bytes": maxrss}
    if cuda is not None and out.get("device", "cpu") == "cuda":
        result["cuda_peak_bytes"] = cuda.cuda.max_memory_allocated()
    return result


if __name__ == "__main__":
    main()
