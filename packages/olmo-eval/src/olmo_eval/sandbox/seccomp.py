"""Seccomp filters for the sandbox, hand-assembled as classic BPF (no libseccomp dependency).

Two filters, both for x86_64 only (:func:`supported` says whether this machine is one):

- :func:`base_filter` is handed to bubblewrap (``--seccomp FD``) and covers every process of the
  sandbox: it refuses, with ``EPERM``, the system calls a test program has no business making and
  that widen the kernel surface (``ptrace``, ``mount``, ``keyctl``, ``bpf``, ``unshare``,
  ``io_uring``...), and every socket except ``AF_UNIX`` (the network namespace already has no
  route out; this makes the refusal explicit and immediate). ``clone3`` gets ``ENOSYS`` so that the
  C library falls back to ``clone``. Calls from another ABI (i386 ``int 0x80``, x32) kill the process:
  the numbers below mean something else there.
- :func:`no_exec_filter` is installed by the boot script once the interpreter runs, so that the
  program cannot start any other executable (``subprocess``, ``os.system``, ``os.exec*``): bubblewrap
  itself must still exec the interpreter, hence the separate, later filter.

Numbers are from ``arch/x86/entry/syscalls/syscall_64.tbl``; a test checks them against the C
headers of the machine.
"""

from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
AF_UNIX = 1

RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

# classic BPF opcodes (linux/filter.h)
_LD_W_ABS = 0x00 | 0x00 | 0x20
_JMP_JEQ_K = 0x05 | 0x10 | 0x00
_JMP_JGE_K = 0x05 | 0x30 | 0x00
_RET_K = 0x06 | 0x00

# offsets in struct seccomp_data
_NR, _ARCH, _ARG0 = 0, 4, 16

#: refused with EPERM for every process in the sandbox
DENIED_X86_64: dict[str, int] = {
    "ptrace": 101, "syslog": 103, "uselib": 134, "ustat": 136, "sysfs": 139, "vhangup": 153,
    "modify_ldt": 154, "pivot_root": 155, "_sysctl": 156, "adjtimex": 159, "chroot": 161, "acct": 163,
    "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "mount_setattr": 442,
}
#: answered with ENOSYS so that the C library falls back to a call we can inspect
UNAVAILABLE_X86_64: dict[str, int] = {"clone3": 435}
#: socket(2): refused unless the family is AF_UNIX
SOCKET_X86_64 = 41
#: refused by the second filter, installed once the interpreter is running
EXEC_X86_64: dict[str, int] = {"execve": 59, "execveat": 322}


def supported() -> bool:
    """Whether these filters fit this machine (x86_64 Linux)."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _program(denied: dict[str, int], enosys: dict[str, int], unix_sockets_only: bool) -> bytes:
    """Arch check, then one ``jeq`` per listed call jumping forward to its return; the default
    is to allow. Jump offsets are 8 bits, so the list stays well under 255 entries."""
    checks: list[tuple[int, str]] = [(nr, "eperm") for nr in sorted(set(denied.values()))]
    checks += [(nr, "enosys") for nr in sorted(set(enosys.values()))]
    if unix_sockets_only:
        checks.append((SOCKET_X86_64, "socket"))
    # layout: [0] ld arch, [1] jeq arch, [2] ld nr, [3] jge x32, checks..., ALLOW,
    #         [socket: ld arg0, jeq AF_UNIX, ALLOW], EPERM, ENOSYS, KILL (jumps only go forward)
    head = 4
    allow = head + len(checks)
    socket = allow + 1
    eperm = socket + (3 if unix_sockets_only else 0)
    enosys_at, kill = eperm + 1, eperm + 2
    targets = {"eperm": eperm, "enosys": enosys_at, "socket": socket}
    out = [
        _insn(_LD_W_ABS, _ARCH),
        _insn(_JMP_JEQ_K, AUDIT_ARCH_X86_64, 0, kill - 2),
        _insn(_LD_W_ABS, _NR),
        _insn(_JMP_JGE_K, X32_SYSCALL_BIT, kill - 4, 0),
    ]
    for i, (nr, target) in enumerate(checks):
        offset = targets[target] - (head + i) - 1
        if offset > 255:
            raise ValueError("seccomp filter too long for 8-bit jumps")
        out.append(_insn(_JMP_JEQ_K, nr, offset, 0))
    out.append(_insn(_RET_K, RET_ALLOW))
    if unix_sockets_only:
        out += [_insn(_LD_W_ABS, _ARG0), _insn(_JMP_JEQ_K, AF_UNIX, 0, 1), _insn(_RET_K, RET_ALLOW)]
    out.append(_insn(_RET_K, RET_ERRNO | errno.EPERM))
    out.append(_insn(_RET_K, RET_ERRNO | errno.ENOSYS))
    out.append(_insn(_RET_K, RET_KILL_PROCESS))
    assert len(out) == kill + 1
    return b"".join(out)


def base_filter() -> bytes:
    """The filter for every process of the sandbox (bubblewrap's ``--seccomp``)."""
    return _program(DENIED_X86_64, UNAVAILABLE_X86_64, unix_sockets_only=True)


def no_exec_filter() -> bytes:
    """The filter the boot script adds before running the program: no new executables."""
    return _program(EXEC_X86_64, {}, unix_sockets_only=False)
