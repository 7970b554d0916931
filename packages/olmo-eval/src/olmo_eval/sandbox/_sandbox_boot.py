"""Stand-alone boot script of the sandbox: run as ``python -I -S _sandbox_boot.py CONFIG_JSON``.

It imports nothing from olmo_eval (the sandboxed interpreter sees no site-packages) and fails
closed: if any isolation step that the config asks for cannot be set up, it exits with
``SETUP_FAILED`` before the program runs. Process tree::

    boot (root, own session)          unshare(NEWNS | NEWNET | NEWPID | NEWIPC), read-only mounts
      └─ init (PID 1 of the new pid namespace, root, dies with boot via PDEATHSIG)
           └─ program (unprivileged uid, rlimits, fresh temp dir as cwd and only writable mount)

When the program exits, init exits, and the kernel kills every process left in the namespace:
double forks and ``setsid`` cannot outlive the run. See ``sandbox.py`` for why each limit is there.
"""

import ctypes
import json
import os
import resource
import signal
import sys

PASSED, FAILED, MEMORY, SETUP_FAILED = 0, 1, 3, 70

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
CLONE_NEWNET, CLONE_NEWIPC = 0x40000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                 "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}

libc = ctypes.CDLL(None, use_errno=True)


def _fail(step, err=None):
    detail = os.strerror(err) if err else ""
    os.write(2, f"sandbox setup failed: {step} {detail}\n".encode())
    os._exit(SETUP_FAILED)


def _mount(source, target, flags):
    src = source.encode() if source else None
    if libc.mount(src, target.encode(), None, ctypes.c_ulong(flags), None) != 0:
        return ctypes.get_errno()
    return 0


def _mount_points():
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            # octal escapes (\040 for a space) are how mountinfo writes odd characters
            path = fields[4].encode().decode("unicode_escape")
            points.append((path, fields[5].split(",")))
    return points


def _read_only_world(tmp):
    """Everything read-only except ``tmp``: a private mount namespace where every mount point is
    re-mounted read-only (a per-mount flag, so the host is untouched) and ``tmp`` is bound onto
    itself first so it stays its own writable mount."""
    err = _mount(None, "/", MS_REC | MS_PRIVATE)
    if err:
        _fail("make mounts private", err)
    err = _mount(tmp, tmp, MS_BIND)
    if err:
        _fail("bind temp dir", err)
    for path, options in _mount_points():
        if path == tmp or "ro" in options:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for opt in options:
            flags |= _OPTION_FLAGS.get(opt, 0)
        err = _mount(None, path, flags)
        # a mount hidden under another one cannot be reached by path, so only the top one counts
        if err and os.path.ismount(path):
            _fail(f"remount {path} read-only", err)


def _bind_stdlib(cfg):
    """The interpreter may live under a directory the unprivileged uid cannot enter (``/root`` is
    0700): bind its prefix to a readable place and point ``sys.path`` there after the drop."""
    bind = cfg.get("stdlib_bind")
    if bind:
        err = _mount(bind["source"], bind["target"], MS_BIND | MS_REC)
        if err:
            _fail("bind interpreter prefix", err)


def _remap_sys_path(cfg):
    bind = cfg.get("stdlib_bind")
    if bind:
        src, dst = bind["source"], bind["target"]

        def remap(paths):
            return [dst + p[len(src):] if p == src or p.startswith(src + os.sep) else p for p in paths]

        sys.path[:] = remap(sys.path)
        # packages imported before the drop (collections, encodings...) look up submodules here
        for module in list(sys.modules.values()):
            path = getattr(module, "__path__", None)
            if isinstance(path, list):
                path[:] = remap(path)
        sys.path_importer_cache.clear()


def _enter_namespaces(cfg):
    if os.geteuid() == 0:
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
        if libc.unshare(flags) != 0:
            _fail("unshare", ctypes.get_errno())
        _bind_stdlib(cfg)
        _read_only_world(cfg["tmp"])
        return
    # Not root: an unprivileged user namespace gives the same mount/net/pid isolation where the
    # kernel allows it; the program then stays our uid (mapped to root inside).
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC) != 0:
        if cfg["require_namespaces"]:
            _fail("unshare(user namespace)", ctypes.get_errno())
        return
    with open("/proc/self/setgroups", "w") as fh:
        fh.write("deny")
    with open("/proc/self/uid_map", "w") as fh:
        fh.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as fh:
        fh.write(f"0 {gid} 1")
    _read_only_world(cfg["tmp"])


def _limit(cfg):
    def setl(which, value):
        resource.setrlimit(which, (value, value))

    cpu = int(cfg["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    setl(resource.RLIMIT_AS, int(cfg["memory_bytes"]))
    setl(resource.RLIMIT_FSIZE, int(cfg["file_bytes"]))
    setl(resource.RLIMIT_CORE, 0)
    setl(resource.RLIMIT_NOFILE, 256)
    setl(resource.RLIMIT_NPROC, int(cfg["nproc"]))


def _drop_privileges(cfg):
    if os.geteuid() != 0 or cfg["uid"] is None:
        return
    uid, gid = int(cfg["uid"]), int(cfg["gid"])
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() != uid or os.getuid() != uid:
        _fail("setuid")


def _guard(cfg):
    """Python-level refusals on top of the kernel's: clearer errors for a model's code, and the
    only network barrier when no namespace could be made (then `require_namespaces` is off)."""
    blocked = ("socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
               "socket.sendto", "ctypes.dlopen", "ctypes.dlsym")
    tmp = cfg["tmp"]

    def hook(event, args):
        if event in blocked:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open" and len(args) > 1 and args[1] and any(c in str(args[1]) for c in "wax+"):
            path = args[0]
            if isinstance(path, (str, bytes)) and not os.path.abspath(os.fsdecode(path)).startswith(tmp + os.sep):
                raise PermissionError(f"sandbox: writing {path!r} outside the temp dir is not allowed")

    sys.addaudithook(hook)


def _run_program(cfg):
    os.chdir(cfg["tmp"])
    for fd in range(3, 256):
        try:
            os.close(fd)
        except OSError:
            pass
    os.environ.clear()
    os.environ.update(cfg["env"])
    with open(cfg["program"], encoding="utf-8") as fh:
        source = fh.read()
    _remap_sys_path(cfg)
    if cfg["python_guard"]:
        _guard(cfg)
    sys.argv = [cfg["program"]]
    sys.setrecursionlimit(2000)
    try:
        code = compile(source, cfg["program"], "exec")
        exec(code, {"__name__": "__main__", "__file__": cfg["program"]})
    except MemoryError:
        # no traceback: formatting one may need the memory that just ran out
        os.write(2, b"MemoryError: the program exceeded its memory limit\n")
        os._exit(MEMORY)
    except BaseException as exc:  # noqa: BLE001 - any failure of the program is its verdict
        # SystemExit counts as a failure: sys.exit(0) inside a tested function must not pass
        try:
            import traceback

            traceback.print_exception(exc)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(MEMORY if isinstance(exc, MemoryError) else FAILED)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(PASSED)


def _wait_status(pid):
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def main():
    cfg = json.loads(sys.argv[1])
    _enter_namespaces(cfg)
    init = os.fork()
    if init == 0:
        # PID 1 of the new namespace: when boot is killed (wall-clock timeout), this dies too,
        # and with it every process of the namespace.
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() == 1:
            os._exit(SETUP_FAILED)
        program = os.fork()
        if program == 0:
            try:
                libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
                _limit(cfg)
                _drop_privileges(cfg)
            except OSError as exc:
                _fail("limits/privileges", exc.errno)
            _run_program(cfg)
        os._exit(_wait_status(program))
    os._exit(_wait_status(init))


if __name__ == "__main__":
    main()
