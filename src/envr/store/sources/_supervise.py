"""Run a build so that none of its processes outlives it, nor envr (Linux). Run as a script, stdlib only:

    python -I -S _supervise.py front ENVR_PID KEEP_FD -- bash -e -c SCRIPT

Two small processes stand between envr and the build:

    envr ─ front (envr's process group) ─ back (its own session, a subreaper) ─ bash (its own process group)

- front is in envr's process group, so Ctrl-C at the terminal (SIGINT), a hang-up or a SIGTERM sent to envr's
  group reaches it, and it dies at once. It also dies with envr (PR_SET_PDEATHSIG), whoever kills envr.
- back is in its own session, so `kill -9` of envr's whole group does not reach it. It dies when front dies
  (PR_SET_PDEATHSIG, handled: SIGTERM), and before it exits it kills the build's process group and every
  process the build left: as a child subreaper, orphans (a daemon that forked twice and called setsid) are
  re-parented to back instead of init, so it finds them and kills them too, until it has no child left.
- bash runs the script in its own process group of back's session, without a controlling terminal.

Whether the build ends by itself (success or failure) or because envr went away, back kills what is left of
it before it exits; front exits with back's status (the script's, or 128+signal). The descriptor KEEP_FD (the
store path's flock) is inherited by every process of the build: should one escape all of this, it keeps the
flock, and no later realise touches that store path while it lives.
"""

import contextlib
import ctypes
import os
import select
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def front(envr_pid: int, keep_fd: int, argv: list[str]) -> int:
    for sig in STOP:
        signal.signal(sig, signal.SIG_DFL)  # die at once: back then kills the build
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != envr_pid:  # envr died before the line above
        return 125
    me = str(os.getpid())
    back = os.posix_spawn(
        sys.executable,
        [sys.executable, "-I", "-S", __file__, "back", me, str(keep_fd), "--", *argv],
        os.environ,
        setsid=True,
    )
    _, status = os.waitpid(back, 0)
    return _exit_code(status)


def _children() -> list[int]:
    """Processes whose parent is this one (read from /proc: orphans re-parented here included)."""
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != b"Z":
            out.append(int(entry))
    return out


def _kill_everything(group: int) -> None:
    """SIGKILL the build's group, then every remaining child (re-parented orphans), until none is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    while True:
        for pid in _children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)  # each reaped child's own children are re-parented here before this returns
        except ChildProcessError:
            return


def back(front_pid: int, keep_fd: int, argv: list[str]) -> int:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    for sig in (signal.SIGCHLD, *STOP):
        signal.signal(sig, lambda *_: None)  # handled: the wakeup fd says which
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if os.getppid() != front_pid:
        return 125
    if keep_fd >= 0:
        os.set_inheritable(keep_fd, True)
    try:
        child = os.posix_spawnp(
            argv[0], argv, os.environ, setpgroup=0, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, *STOP)
        )
    except OSError as e:
        print(f"envr: cannot run {argv[0]}: {e.strerror}", file=sys.stderr)
        return 127
    status = None
    while status is None:
        select.select([wake_r], [], [])
        signals = os.read(wake_r, 1024)
        pid, raw = os.waitpid(child, os.WNOHANG)
        if pid:
            status = _exit_code(raw)
        elif any(s in STOP for s in signals):
            status = 128 + next(s for s in signals if s in STOP)
    _kill_everything(child)
    return status


def main(argv: list[str]) -> int:
    role, pid, keep_fd, sep, *command = argv
    if sep != "--" or not command:
        raise SystemExit("usage: _supervise.py front|back PID KEEP_FD -- COMMAND...")
    run = front if role == "front" else back
    return run(int(pid), int(keep_fd), command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
