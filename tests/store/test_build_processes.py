"""D10: a build runs in its own process group, every process of it is killed when it ends (a forked daemon
too) and when envr dies (kill -9 of envr, or of envr's whole process group), and a path a leftover process
could still write is never registered.

Builds here never sleep for a fixed time to "write late": they wait for a file the test creates once envr is
gone and the next sync is done, so a surviving process always gets its chance to write, and the test never
depends on timing."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from integrity_helpers import ENVR, World, alive, read_pid, wait_until, world

__all__ = ["world"]

LATE = 'while [ ! -e {go} ]; do sleep 0.05; done; echo late > "$out/LATE"'
KILLED = {
    # the build's own shell is the late writer (the findings' script)
    "shell": 'echo $$ > {pid}; mkdir -p "$out/bin"; cp tool "$out/bin/"; chmod +x "$out/bin/tool"; '
    "if mkdir {first} 2>/dev/null; then touch {started}; " + LATE + "; fi",
    # a grandchild that ignores every polite signal
    "grandchild": 'mkdir -p "$out/bin"; cp tool "$out/bin/"; chmod +x "$out/bin/tool"; '
    'if mkdir {first} 2>/dev/null; then sh -c \'trap "" TERM HUP INT; echo $$ > {pid}; touch {started}; '
    + LATE.replace('"$out/LATE"', '"$1/LATE"').replace('"', '\\"')
    + '\' sh "$out"; fi',
}


def build_project(world: World, script: str) -> Path:
    body = script.replace("\\", "\\\\").replace('"', '\\"')
    return world.project(
        "p", f'[packages]\nb = {{ path = "./src", build = "{body}" }}\n', {"src/tool": "#!/bin/sh\necho tool\n"}
    )


@pytest.mark.parametrize("kill_group", [False, True], ids=["kill-envr", "kill-envr-group"])
@pytest.mark.parametrize("case", list(KILLED))
def test_kill_9_of_sync_kills_the_build_and_nothing_late_lands(world: World, case: str, kill_group: bool) -> None:
    pid_file, first, started, go = (world.tmp / n for n in ("pid", "first", "started", "go"))
    root = build_project(world, KILLED[case].format(pid=pid_file, first=first, started=started, go=go))
    env = {**world.env, "PWD": str(root)}
    sync = subprocess.Popen(
        world.argv([ENVR, "sync"]),
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, so killing the group kills nothing of the test's
    )
    try:
        assert wait_until(started.exists), "the build never started"
        build = read_pid(pid_file)
    finally:
        if kill_group:
            os.killpg(sync.pid, signal.SIGKILL)  # envr and everything in its process group (kill -9 %1)
        else:
            sync.send_signal(signal.SIGKILL)
        sync.wait()
    assert wait_until(lambda: not alive(build)), "the build outlived kill -9 of its sync"

    again = world.envr("sync", cwd=root)  # waits for any holder of the path's flock: none is left
    go.touch()

    assert again.returncode == 0, again.stderr
    assert not alive(build)
    [path] = world.registered()
    assert not Path(path, "LATE").exists()
    assert world.envr("store", "verify", cwd=root).returncode == 0


DAEMONS = {
    "background": "( echo $BASHPID > {pid}; " + LATE.replace("$out", "{out}") + " ) >/dev/null 2>&1 &",
    "setsid": "setsid sh -c 'echo $$ > {pid}; " + LATE.replace("$out", "{out}") + "' >/dev/null 2>&1 &",
    "double-fork": "( setsid sh -c 'echo $$ > {pid}; " + LATE.replace("$out", "{out}") + "' >/dev/null 2>&1 & );",
}


@pytest.mark.parametrize("how", list(DAEMONS))
def test_a_daemon_forked_by_a_build_dies_when_the_build_ends(world: World, how: str) -> None:
    pid_file, go = world.tmp / "daemon.pid", world.tmp / "go"
    daemon = DAEMONS[how].format(pid=pid_file, go=go, out="$out")
    wait = f"while [ ! -s {pid_file} ]; do sleep 0.01; done"  # the daemon is up before the build ends
    root = build_project(
        world, f'mkdir -p "$out/bin"; cp tool "$out/bin/"; chmod +x "$out/bin/tool"; {daemon} true; {wait}'
    )

    r = world.envr("sync", cwd=root)
    go.touch()

    assert r.returncode == 0, r.stderr
    assert not alive(read_pid(pid_file)), "the build's daemon survived the sync"
    [path] = world.registered()
    assert not Path(path, "LATE").exists()
    assert world.envr("store", "verify", cwd=root).returncode == 0


def test_a_failing_build_is_killed_with_its_children(world: World) -> None:
    pid_file, go = world.tmp / "child.pid", world.tmp / "go"
    child = "( echo $BASHPID > {pid}; " + LATE.replace("$out", "{out}") + " ) &"
    script = f'mkdir -p "$out"; {child.format(pid=pid_file, go=go, out="$out")} while [ ! -s {pid_file} ]; do sleep 0.01; done; exit 3'
    root = build_project(world, script)

    r = world.envr("sync", cwd=root)

    assert r.returncode == 1 and "failed with exit code 3" in r.stderr
    assert not alive(read_pid(pid_file))
    assert world.registered() == []


def test_a_build_has_no_terminal_and_its_own_process_group(world: World) -> None:
    out = world.tmp / "ids"
    root = build_project(
        world,
        f'mkdir -p "$out"; ps -o pgid= -o sid= -p $$ > {out}; (exec 3</dev/tty) 2>/dev/null && echo tty >> {out} || true',
    )
    r = world.envr("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    pgid, sid = (int(x) for x in out.read_text().split()[:2])
    assert "tty" not in out.read_text()
    assert pgid != os.getpgrp() and sid != os.getsid(0)
