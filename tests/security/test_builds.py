"""Builds: a killed sync leaves no build running and nothing it writes later lands in a registered path (D10),
a daemon forked by a build does not outlive the sync (D10), the store never widens a directory's or file's
mode (D21, as an unprivileged uid), and a build that replaces $out by a symlink is refused without touching
the link's target (D22).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from .helpers import (
    OTHER_UID,
    World,
    assert_no_internal_error,
    assert_one_line_error,
    assert_store_contained,
    diff_snapshots,
    pid_alive,
    registered,
    run_as,
    snapshot,
    store_entries,
    wait_until,
)


def build_project(world: World, script: str, name: str = "b") -> Path:
    root = world.tmp / "proj"
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "tool").write_text("#!/bin/sh\necho tool\n")
    toml_script = script.replace("\\", "\\\\").replace('"', '\\"')
    (root / "envr.toml").write_text(
        f'[env]\nX = "1"\n[packages]\n{name} = {{ path = "./src", build = "{toml_script}" }}\n'
    )
    world.allow(root)
    return root


def read_pid(path: Path) -> int:
    assert wait_until(lambda: path.exists() and path.read_text().strip().isdigit(), 30), f"no pid in {path}"
    return int(path.read_text().strip())


def stop_leftover(pid: int) -> None:
    """Kill a process this test's build left behind (by its pid), so it cannot outlive the test."""
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def registered_path(world: World, suffix: str) -> Path:
    [p] = [Path(p) for p in registered(world) if p.endswith(suffix)]
    return p


# --- D10: kill -9 during a build ----------------------------------------------------------------------------

KILL_CASES = {
    # the build's shell, sleeping, then writing into $out (D10's script)
    "plain": 'echo $$ > {pid}; mkdir -p "$out/bin"; cp tool "$out/bin/"; chmod +x "$out/bin/tool"; '
    'if mkdir {first} 2>/dev/null; then touch {started}; sleep 8; echo late > "$out/LATE"; fi',
    # ... one that ignores the polite signals
    "ignores-signals": 'trap \'\' TERM HUP INT; echo $$ > {pid}; mkdir -p "$out/bin"; cp tool "$out/bin/"; '
    'if mkdir {first} 2>/dev/null; then touch {started}; sleep 8; echo late > "$out/LATE"; fi',
    # ... and one whose late writer is a grandchild
    "grandchild": 'mkdir -p "$out/bin"; cp tool "$out/bin/"; if mkdir {first} 2>/dev/null; then '
    'sh -c \'echo $$ > {pid}; touch {started}; sleep 8; echo late > "$1/LATE"\' sh "$out"; fi',
}


@pytest.mark.parametrize("case", list(KILL_CASES))
def test_a_killed_sync_leaves_no_build_running_and_nothing_late_lands(world: World, case: str) -> None:
    pid_file, first, started = world.tmp / "build.pid", world.tmp / "first", world.tmp / "started"
    root = build_project(world, KILL_CASES[case].format(pid=pid_file, first=first, started=started))
    sync = world.popen("sync", cwd=root)
    try:
        assert wait_until(started.exists, 30), "the build never started"
        build_pid = read_pid(pid_file)
    finally:
        sync.send_signal(signal.SIGKILL)
        sync.communicate()
    killed_at = time.monotonic()
    try:
        assert wait_until(lambda: not pid_alive(build_pid), 3), "the build outlived kill -9 of its sync"
        again = world.envr("sync", cwd=root)
        assert again.returncode == 0, again.stderr
        time.sleep(max(0.0, 9 - (time.monotonic() - killed_at)))  # past the moment an orphan would write
        verify = world.envr("store", "verify", cwd=root)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert not (registered_path(world, "-b-local") / "LATE").exists()
    finally:
        stop_leftover(build_pid)


DAEMONS = {
    "background": '( echo $BASHPID > {pid}; sleep 2; echo late > "$out/DAEMON" ) >/dev/null 2>&1 &',
    "setsid": 'setsid sh -c \'echo $$ > {pid}; sleep 2; echo late > "$1/DAEMON"\' sh "$out" >/dev/null 2>&1 &',
    "nohup-double-fork": '( nohup sh -c \'echo $$ > {pid}; sleep 2; echo late > "$1/DAEMON"\' sh "$out" '
    ">/dev/null 2>&1 & ) ; sleep 0.2",
}


@pytest.mark.parametrize("how", list(DAEMONS))
def test_a_daemon_forked_by_a_build_does_not_outlive_the_sync(world: World, how: str) -> None:
    pid_file = world.tmp / "daemon.pid"
    # The build waits until its daemon is up (wrote its pid), so the test is about killing it, not about a race.
    daemon = DAEMONS[how].format(pid=pid_file)
    wait = f"{' ' if daemon.endswith('&') else '; '}while [ ! -s {pid_file} ]; do sleep 0.05; done"
    root = build_project(world, 'mkdir -p "$out/bin"; cp tool "$out/bin/"; ' + daemon + wait)

    r = world.envr("sync", cwd=root)

    assert r.returncode == 0, r.stderr
    pid = read_pid(pid_file)
    try:
        assert wait_until(lambda: not pid_alive(pid), 5), "the build's daemon is still running after the sync"
        time.sleep(3)
        assert not (registered_path(world, "-b-local") / "DAEMON").exists()
        verify = world.envr("store", "verify", cwd=root)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        stop_leftover(pid)


# --- D21: modes ---------------------------------------------------------------------------------------------


def other_can_read(path: Path) -> bool:
    return run_as(OTHER_UID, ["cat", str(path)]).returncode == 0


def private_tree(root: Path) -> Path:
    tools = root / "tools"
    (tools / "private").mkdir(parents=True)
    (tools / "private" / "token").write_text("s3cret\n")
    (tools / "private").chmod(0o700)
    (tools / "group-only").mkdir()
    (tools / "group-only" / "g").write_text("group\n")
    (tools / "group-only").chmod(0o750)
    (tools / "key").write_text("k3y\n")
    (tools / "key").chmod(0o600)
    (tools / "bin").mkdir()
    (tools / "bin" / "hi").write_text("#!/bin/sh\necho hi\n")
    (tools / "bin" / "hi").chmod(0o755)
    return tools


def test_the_store_never_widens_the_modes_of_a_path_package(user_world: World) -> None:
    world = user_world
    root = world.tmp / "m"
    private_tree(root)
    (root / "envr.toml").write_text('[packages]\nt = { path = "./tools" }\n')
    os.chown(root, world.uid or 0, world.uid or 0)
    for p in root.rglob("*"):
        os.lchown(p, world.uid or 0, world.uid or 0)
    world.allow(root)

    r = world.envr("sync", cwd=root)

    assert r.returncode == 0, r.stderr
    [sp] = store_entries(world.store)
    widened = {}
    for rel in ("private", "group-only", "key"):
        src_mode = stat.S_IMODE((root / "tools" / rel).stat().st_mode)
        dst_mode = stat.S_IMODE((sp / rel).stat().st_mode)
        if dst_mode & ~src_mode & 0o077:
            widened[rel] = f"{oct(src_mode)} -> {oct(dst_mode)}"
    assert widened == {}
    assert not other_can_read(sp / "private" / "token"), "another user read a file only its directory protected"
    assert not other_can_read(sp / "key"), "another user read a 0600 file"
    ran = world.envr("exec", str(root), "--", "hi", cwd=root)
    assert ran.stdout == "hi\n", ran.stderr


def test_the_store_never_widens_the_modes_a_build_chose(user_world: World) -> None:
    world = user_world
    script = (
        'mkdir -p "$out/bin" "$out/private"; chmod 700 "$out/private"; echo s3cret > "$out/private/token"; '
        'echo k3y > "$out/key"; chmod 600 "$out/key"'
    )
    root = world.tmp / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "f").write_text("x\n")
    (root / "envr.toml").write_text(
        '[packages]\nb = { path = "./src", build = "' + script.replace('"', '\\"') + '" }\n'
    )
    for p in [root, *root.rglob("*")]:
        os.lchown(p, world.uid or 0, world.uid or 0)
    world.allow(root)

    r = world.envr("sync", cwd=root)

    assert r.returncode == 0, r.stderr
    [sp] = store_entries(world.store)
    assert stat.S_IMODE((sp / "private").stat().st_mode) & 0o077 == 0
    assert not other_can_read(sp / "private" / "token")
    assert not other_can_read(sp / "key")


# --- D22: $out replaced by a symlink ------------------------------------------------------------------------


def users_dir(world: World) -> Path:
    mine = world.tmp / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "file").write_text("data\n")
    (mine / "notes").write_text("mine\n")
    (mine / "sub").chmod(0o755)
    return mine


REPLACEMENTS = {
    "absolute-dir": 'rm -rf "$out"; ln -s {mine} "$out"',
    "relative-dir": 'rm -rf "$out"; ln -s "$(realpath --relative-to="$(dirname "$out")" {mine})" "$out"',
    "file": 'rm -rf "$out"; ln -s {mine}/notes "$out"',
    "bin-dir": 'mkdir -p "$out"; ln -s {mine} "$out/bin"',
    "nested-dir": 'mkdir -p "$out/share"; ln -s {mine}/sub "$out/share/data"',
}


@pytest.mark.parametrize("case", list(REPLACEMENTS))
def test_a_build_that_points_out_of_its_output_is_refused_and_the_target_untouched(world: World, case: str) -> None:
    mine = users_dir(world)
    before = snapshot(mine)
    root = build_project(world, REPLACEMENTS[case].format(mine=mine))

    r = world.envr("sync", cwd=root)

    assert_no_internal_error(r)
    assert diff_snapshots(before, snapshot(mine)) == [], "envr changed the user's directory"
    assert not (mine / ".envr").exists()
    assert_store_contained(world.store)
    if case in ("absolute-dir", "relative-dir", "file"):
        assert_one_line_error(r, "b")
        assert registered(world) == []
