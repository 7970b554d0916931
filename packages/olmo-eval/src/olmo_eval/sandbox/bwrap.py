"""The bubblewrap command line of one sandboxed run, and how it is launched.

What the sandbox sees (nothing else of the host's file system is mounted):

- ``/usr`` (and the ``/bin``, ``/lib``, ``/lib64`` links into it), ``/etc/ld.so.cache`` and the
  interpreter's installation prefix (``sys.base_prefix``: the interpreter and its stdlib), read-only;
- ``/sandbox``: the boot script, the program and the no-exec filter, read-only copies;
- ``/tmp`` (the working and home directory) and ``/dev/shm``: fresh tmpfs with a size cap each, the
  only writable places; ``/dev`` (null, zero, random, tty...) and the root re-mounted read-only;
- a fresh ``/proc`` of the sandbox's own pid namespace.

Namespaces: all of them (``--unshare-all``: user, mount, pid, net, ipc, uts, cgroup), so there is no
network and no host process to see; ``--disable-userns`` forbids nested user namespaces, so the
mounts stay locked (a mount made in a more privileged namespace cannot be undone from a less
privileged one). ``--cap-drop ALL``; bubblewrap sets ``no_new_privs``. ``--die-with-parent`` ties
the sandbox to the harness; ``--new-session`` keeps the terminal out of reach (TIOCSTI).

As root, bubblewrap runs under an unprivileged uid of its own (see :func:`launcher`): the kernel
never applies ``RLIMIT_NPROC`` to root's uid, even inside a user namespace.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

#: the sandbox's own paths
BOOT, PROGRAM, NO_EXEC_FILTER = "/sandbox/boot.py", "/sandbox/program.py", "/sandbox/no_exec.bpf"
HOME = "/tmp"


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs inside: the evaluator's own base interpreter (no venv, no site-packages)."""

    executable: str
    prefix: str

    @classmethod
    def current(cls) -> Interpreter:
        exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
        return cls(exe, os.path.realpath(sys.base_prefix))

    def under_usr(self) -> bool:
        return self.prefix == "/usr" or self.prefix.startswith("/usr/")

    def visible_to_others(self) -> bool:
        """Whether an unprivileged uid can reach the prefix (``/root`` is usually 0700)."""
        path = Path(self.prefix)
        return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def find_bwrap(path: str | None) -> str | None:
    if path:
        return path if os.access(path, os.X_OK) else None
    return shutil.which("bwrap")


def bwrap_argv(bwrap: str, interp: Interpreter, fds: dict[str, int], prefix_source: str, *,
               tmp_bytes: int, shm_bytes: int, boot_config: str) -> list[str]:
    """``fds``: ``boot``, ``program``, ``no_exec`` (read by bubblewrap into ``/sandbox``) and
    ``seccomp`` (the base filter; absent where seccomp is not supported)."""
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--hostname", "sandbox", "--clearenv"]
    for key, value in (("PATH", "/usr/bin:/bin"), ("HOME", HOME), ("TMPDIR", HOME), ("LANG", "C.UTF-8"),
                       ("PYTHONHASHSEED", "0"), ("PYTHONDONTWRITEBYTECODE", "1")):
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = os.readlink(f"/{link}") if os.path.islink(f"/{link}") else None
        if target and target.lstrip("/").startswith("usr/"):
            argv += ["--symlink", target, f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            argv += ["--ro-bind", f"/{link}", f"/{link}"]
    if os.path.exists("/etc/ld.so.cache"):
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    if not interp.under_usr():
        argv += ["--ro-bind", prefix_source, interp.prefix]
    if not (interp.executable.startswith("/usr/") or interp.executable.startswith(interp.prefix + "/")):
        argv += ["--ro-bind", interp.executable, interp.executable]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(shm_bytes), "--perms", "1777", "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
             "--size", str(tmp_bytes), "--perms", "0700", "--tmpfs", HOME]
    argv += ["--perms", "0444", "--ro-bind-data", str(fds["boot"]), BOOT,
             "--perms", "0444", "--ro-bind-data", str(fds["program"]), PROGRAM]
    if "no_exec" in fds:
        argv += ["--perms", "0444", "--ro-bind-data", str(fds["no_exec"]), NO_EXEC_FILTER]
    argv += ["--remount-ro", "/", "--chdir", HOME]
    if "seccomp" in fds:
        argv += ["--seccomp", str(fds["seccomp"])]
    argv += ["--", interp.executable, "-I", "-S", BOOT, boot_config]
    return argv


#: POSIX sh run first: join the cgroup, then (root only) make the interpreter reachable and drop
#: to the sandbox's uid. Arguments: CGROUP_PROCS ("" for none), PREFIX, MOUNTPOINT ("" when no
#: bind is needed), UID ("" to keep ours), then bubblewrap's argv.
_LAUNCH = r"""
set -e
if [ -n "$1" ]; then echo $$ > "$1"; fi
if [ -n "$3" ]; then mount --bind -o ro "$2" "$3"; fi
u="$4"; shift 4
if [ -n "$u" ]; then exec setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"; fi
exec "$@"
"""


def launcher(argv: list[str], *, cgroup_procs: str = "", prefix: str = "", mountpoint: str = "",
             uid: int | None = None) -> list[str]:
    """Wraps bubblewrap's argv. A bind of the interpreter's prefix onto a world-reachable empty
    directory, needed when root's interpreter lives under ``/root``, happens in a private mount
    namespace of the launcher (``unshare --mount``): the host's mounts are untouched."""
    script = ["/bin/sh", "-c", _LAUNCH, "launch", cgroup_procs, prefix, mountpoint,
              "" if uid is None else str(uid), *argv]
    if mountpoint:
        return ["unshare", "--mount", "--propagation", "private", "--", *script]
    return script
