"""The hand-assembled filters: numbers checked against the C headers (an independent source), and
the kernel's own answers inside the sandbox for every listed call."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest

from olmo_eval.sandbox import Outcome, SandboxConfig, run_program, seccomp

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")

pytestmark = pytest.mark.skipif(not seccomp.supported() and os.environ.get("CI") != "true",
                                reason="the filters are for x86_64")


def test_numbers_match_the_kernel_headers() -> None:
    assert HEADER.exists(), f"{HEADER} (linux-libc-dev) is needed to check the syscall numbers"
    table = {m[1]: int(m[2]) for m in re.finditer(r"#define __NR_(\w+)\s+(\d+)", HEADER.read_text())}
    ours = {**seccomp.DENIED_X86_64, **seccomp.UNAVAILABLE_X86_64, **seccomp.EXEC_X86_64,
            "socket": seccomp.SOCKET_X86_64}
    known = {name: nr for name, nr in ours.items() if name in table}
    assert len(known) >= len(ours) - 1  # _sysctl is gone from recent headers
    assert known == {name: table[name] for name in known}


def test_the_kernel_refuses_each_listed_call_in_the_sandbox() -> None:
    probe = {"denied": sorted(seccomp.DENIED_X86_64.values()), "enosys": sorted(seccomp.UNAVAILABLE_X86_64.values()),
             "exec": sorted(seccomp.EXEC_X86_64.values())}
    # every call gets invalid arguments (-1 everywhere): a call that got past the filter fails with
    # EBADF/EINVAL/EFAULT..., never with the filter's EPERM/ENOSYS by accident
    program = f"""
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
probe = {json.dumps(probe)}
def call(nr):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), ctypes.c_long(-1), ctypes.c_long(-1), ctypes.c_long(-1), ctypes.c_long(-1))
    return ctypes.get_errno() if r == -1 else 0
out = {{k: {{str(nr): call(nr) for nr in v}} for k, v in probe.items()}}
out['getppid'] = libc.syscall(110)
out['sockets'] = {{}}
for fam in (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
    try:
        socket.socket(fam, socket.SOCK_DGRAM if fam != socket.AF_PACKET else socket.SOCK_RAW).close()
        out['sockets'][str(int(fam))] = 0
    except OSError as exc:
        out['sockets'][str(int(fam))] = exc.errno
a, b = socket.socketpair()
out['socketpair'] = True
print(json.dumps(out))
"""
    result = run_program(program, SandboxConfig(wall_seconds=20))
    assert result.outcome == Outcome.PASSED, result.stderr
    out = json.loads(result.stdout)
    assert set(out["denied"].values()) == {errno.EPERM}
    assert set(out["enosys"].values()) == {errno.ENOSYS}
    assert set(out["exec"].values()) == {errno.EPERM}
    assert out["getppid"] > 0 and out["socketpair"]
    assert out["sockets"] == {"1": 0, "2": errno.EPERM, "10": errno.EPERM, "16": errno.EPERM, "17": errno.EPERM}


def test_filters_are_well_formed() -> None:
    for code in (seccomp.base_filter(), seccomp.no_exec_filter()):
        assert len(code) % 8 == 0 and len(code) // 8 < 4096
