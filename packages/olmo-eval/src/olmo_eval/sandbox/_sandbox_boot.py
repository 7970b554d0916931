"""Runs inside the sandbox as ``python -I -S /sandbox/boot.py CONFIG_JSON``: stdlib only (the
sandboxed interpreter sees no site-packages, and this file is copied in by bubblewrap).

Order: tell the harness we started, read the nonce and close its pipe, set the resource limits,
add the no-exec seccomp filter, run the program; only if the program's code ran to its end (its
tests included) write the nonce to the result pipe, then leave at once with ``os._exit`` so that
no ``atexit`` handler, thread or ``__del__`` of the program runs after the verdict. The verdict is
the nonce, never the exit status: ``os._exit(0)``, ``sys.exit(0)`` or a killed interpreter before
the end all leave the result pipe without it.
"""

import json
import os
import resource
import sys

STARTED = b"S"
FAILED, MEMORY, SETUP_FAILED = 1, 3, 70
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def _fail(step, detail=""):
    os.write(2, f"sandbox setup failed: {step} {detail}\n".encode())
    os._exit(SETUP_FAILED)


def _limit(cfg):
    for name, value in cfg["rlimits"].items():
        which = getattr(resource, name)
        soft, hard = (value, value) if name != "RLIMIT_CPU" else (value, value + 1)
        try:
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError) as exc:
            _fail(f"setrlimit {name}={value}", str(exc))


def _no_exec(cfg):
    """Loads the second seccomp filter (the bytes come from ``seccomp.no_exec_filter``)."""
    path = cfg.get("no_exec_filter")
    if not path:
        return
    import ctypes

    with open(path, "rb") as fh:
        code = fh.read()

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    prog = SockFprog(len(code) // 8, code)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        _fail("seccomp no-exec filter", os.strerror(ctypes.get_errno()))


def _read_nonce(fd):
    data = b""
    while True:
        chunk = os.read(fd, 256)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data


def main():
    cfg = json.loads(sys.argv[1])
    result_fd = cfg["result_fd"]
    os.write(result_fd, STARTED)
    nonce = _read_nonce(cfg["nonce_fd"])
    if len(nonce) < 16:
        _fail("nonce")
    with open(cfg["program"], encoding="utf-8") as fh:
        source = fh.read()
    _limit(cfg)
    _no_exec(cfg)
    sys.argv = [cfg["program"]]
    sys.setrecursionlimit(2000)
    try:
        code = compile(source, cfg["program"], "exec")
        del source
        exec(code, {"__name__": "__main__", "__file__": cfg["program"], "__builtins__": __builtins__})
    except MemoryError:
        # no traceback: formatting one may need the memory that just ran out
        os.write(2, b"MemoryError: the program exceeded its memory limit\n")
        os._exit(MEMORY)
    except BaseException as exc:  # noqa: BLE001 - any failure of the program is its verdict
        # SystemExit is a failure too: sys.exit(0) before the tests must not pass
        try:
            import traceback

            traceback.print_exception(exc)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(MEMORY if isinstance(exc, MemoryError) else FAILED)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a closed stdout is the program's own doing
        os._exit(FAILED)
    os.write(result_fd, nonce)
    os._exit(0)


if __name__ == "__main__":
    main()
