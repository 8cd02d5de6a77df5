"""envr watch as a real background process: approved changes are realised without a cd, unapproved ones never,
bursts are debounced, a stop mid-build leaves the store valid, and only one watcher runs per user."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from envr.trust import approvals as trust
from watch_helpers import (
    ENVR,
    Watcher,
    counted,
    is_valid,
    project_status,
    run_envr,
    status,
    store_path,
    wait_for,
    write_project,
)


def idle(file: Path) -> bool:
    return project_status(file).get("state") not in (None, "queued", "realising")


def test_a_newly_approved_project_and_its_approved_change_are_realised_without_a_cd(isolated: Path) -> None:
    counter = isolated / "counter"
    root = isolated / "proj"
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        file = write_project(root, "v1", counter)
        assert run_envr("allow", cwd=root).returncode == 0  # picked up without a restart
        v1 = store_path(root)
        wait_for("v1 realised", lambda: is_valid(v1))

        write_project(root, "v2", counter)
        assert run_envr("allow", cwd=root).returncode == 0
        v2 = store_path(root)
        wait_for("v2 realised", lambda: is_valid(v2))
        wait_for("the watcher to record it", lambda: project_status(file).get("state") == "realised")
        assert counted(counter) == ["v1", "v2"]
        assert os.access(os.path.join(v2, ".envr", "bin", "tool"), os.X_OK)

        # entering now just loads: nothing to realise, no sync message
        entered = run_envr("export", "json", cwd=root)
        assert entered.returncode == 0, entered.stderr
        assert "loaded" in entered.stderr
        assert "realising" not in entered.stderr and "synced" not in entered.stderr
        assert os.path.join(v2, ".envr", "bin") in entered.stdout

        shown = run_envr("watch", "--status", cwd=isolated)
        assert shown.returncode == 0
        assert f"running (pid {watcher.proc.pid})" in shown.stdout
        assert str(file) in shown.stdout and "realised" in shown.stdout
    finally:
        assert watcher.stop() == 0, watcher.output()
    assert run_envr("watch", "--status", cwd=isolated).returncode == 3
    log = (isolated / "state" / "envr" / "watch" / "watch.log").read_text()
    assert "realised" in log and "stopped" in log


def test_an_unapproved_edit_is_not_built_until_it_is_approved(isolated: Path) -> None:
    counter = isolated / "counter"
    root = isolated / "proj"
    file = write_project(root, "v1", counter)
    assert run_envr("allow", cwd=root).returncode == 0
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        wait_for("v1 realised at start", lambda: is_valid(store_path(root)))

        write_project(root, "evil", counter)  # build scripts are code: never run what was not approved
        evil = store_path(root)
        wait_for(
            "the watcher to wait for approval", lambda: project_status(file).get("state") == "waiting for approval"
        )
        assert not is_valid(evil) and counted(counter) == ["v1"]
        assert "waiting for approval" in watcher.output()

        trust.approve(str(file))  # the approval arriving is what triggers the build
        wait_for("the approved edit realised", lambda: is_valid(evil))
        assert counted(counter) == ["v1", "evil"]
    finally:
        assert watcher.stop() == 0, watcher.output()


def test_a_burst_of_50_approved_changes_gives_one_realisation(isolated: Path) -> None:
    counter = isolated / "counter"
    root = isolated / "proj"
    file = write_project(root, "init", counter)
    trust.approve(str(file))
    watcher = Watcher(isolated, "--debounce", "1.5")
    try:
        watcher.wait_running()
        wait_for("the initial realisation", lambda: counted(counter) == ["init"] and idle(file))
        runs = project_status(file)["runs"]
        for i in range(50):  # like a git checkout: many writes (and here re-approvals) in a moment
            write_project(root, f"n{i}", counter)
            trust.approve(str(file))
        last = store_path(root)
        wait_for("the last version realised", lambda: is_valid(last) and idle(file))
        assert counted(counter) == ["init", "n49"]
        assert project_status(file)["runs"] == runs + 1
    finally:
        assert watcher.stop() == 0, watcher.output()


def test_a_failed_build_is_logged_with_its_log_and_retried_only_on_the_next_change(isolated: Path) -> None:
    counter = isolated / "counter"
    broken = isolated / "broken"
    file = write_project(broken, "bad", counter, before="echo build broke >&2; exit 4; ")
    trust.approve(str(file))
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        entry = wait_for(
            "the failure recorded", lambda: project_status(file).get("state") == "failed" and project_status(file)
        )
        assert entry["log"] and "build broke" in Path(entry["log"]).read_text()
        assert entry["log"] in watcher.output()

        other = write_project(isolated / "other", "fine", counter)
        trust.approve(str(other))  # the approvals dir changes, but not the broken project's approval
        wait_for("the other project realised", lambda: project_status(other).get("state") == "realised")
        assert project_status(file)["runs"] == 1

        write_project(broken, "fixed", counter)
        trust.approve(str(file))
        wait_for("the fixed project realised", lambda: project_status(file).get("state") == "realised")
        assert project_status(file)["runs"] == 2
    finally:
        assert watcher.stop() == 0, watcher.output()


def test_sigterm_during_a_build_leaves_the_store_valid_and_a_second_instance_refuses(isolated: Path) -> None:
    counter = isolated / "counter"
    started = isolated / "build-started"
    root = isolated / "proj"
    file = write_project(root, "slow", counter, before=f"touch {started}; sleep 60; ")
    trust.approve(str(file))
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        wait_for("the build to start", started.exists)

        second = run_envr("watch", cwd=isolated, timeout=30)
        assert second.returncode != 0
        assert f"already runs (pid {watcher.proc.pid})" in second.stderr

        watcher.proc.send_signal(signal.SIGTERM)
        assert watcher.proc.wait(60) == 0, watcher.output()
    finally:
        watcher.stop()
    slow = store_path(root)
    store = Path(os.environ["ENVR_STORE"])
    assert not is_valid(slow) and not os.path.lexists(slow)  # rolled back, not half built
    assert not [n for n in os.listdir(store) if n.startswith(".tmp-")]
    verified = run_envr("store", "verify", cwd=isolated)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert status()["running"] is False
    assert "not running" in run_envr("watch", "--status", cwd=isolated).stdout


def test_sigint_stops_it_too_and_a_new_instance_may_start(isolated: Path) -> None:
    first = Watcher(isolated)
    first.wait_running()
    first.proc.send_signal(signal.SIGINT)
    assert first.proc.wait(60) == 0, first.output()
    second = Watcher(isolated)
    try:
        second.wait_running()
    finally:
        assert second.stop() == 0, second.output()


def test_print_service_gives_a_systemd_unit_or_a_launchd_plist(isolated: Path) -> None:
    unit = run_envr("watch", "--print-service", cwd=isolated)
    assert unit.returncode == 0
    assert "[Service]" in unit.stdout and "-m envr watch" in unit.stdout and "WantedBy=default.target" in unit.stdout
    assert f"Environment=ENVR_STORE={os.environ['ENVR_STORE']}" in unit.stdout
    plist = run_envr("watch", "--print-service", "launchd", cwd=isolated)
    assert plist.returncode == 0
    assert "<key>ProgramArguments</key>" in plist.stdout and "<string>watch</string>" in plist.stdout
    assert run_envr("watch", "--print-service", "cron", cwd=isolated).returncode != 0


def blocked_on_a_lock(pid: int) -> bool:
    with open("/proc/locks") as f:  # a waiting request reads "N: -> FLOCK  ADVISORY  WRITE <pid> ..."
        return any(line.split()[1:2] == ["->"] and str(pid) in line.split()[5:6] for line in f)


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux's /proc/locks to see a blocked flock")
def test_entering_while_the_watcher_builds_waits_for_it_and_says_nothing_is_left_to_do(isolated: Path) -> None:
    counter = isolated / "counter"
    started, release = isolated / "build-started", isolated / "release"
    root = isolated / "proj"
    file = write_project(
        root, "shared", counter, before=f"touch {started}; while [ ! -e {release} ]; do sleep 0.05; done; "
    )
    trust.approve(str(file))
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        wait_for("the watcher's build to start", started.exists)
        env = {**os.environ, "PWD": str(root)}
        entering = subprocess.Popen(
            [ENVR, "export", "json"], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # let the build finish only once entering is blocked on the package's lock (a waiter in /proc/locks)
        wait_for("entering to wait for the watcher's build", lambda: blocked_on_a_lock(entering.pid))
        release.touch()
        out, err = entering.communicate(timeout=90)
        assert entering.returncode == 0, err
        assert "realised meanwhile by another envr" in err and "loaded" in err
        assert counted(counter) == ["shared"]  # built once, by the watcher
        assert os.path.join(store_path(root), ".envr", "bin") in out
    finally:
        assert watcher.stop() == 0, watcher.output()


def test_a_re_approved_lock_change_is_realised_without_a_cd(isolated: Path) -> None:
    counter = isolated / "counter"
    root = isolated / "proj"
    file = write_project(root, "locked", counter)
    assert run_envr("allow", cwd=root).returncode == 0  # lock resolves only an allowed project
    assert run_envr("lock", cwd=root).returncode == 0
    assert run_envr("allow", cwd=root).returncode == 0
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        first = store_path(root)
        wait_for("the locked package realised", lambda: is_valid(first))

        (root / "src" / "README").write_text("a new upstream version\n")  # what a git pull brings...
        upgraded = run_envr("lock", "--upgrade", cwd=root)  # ...with its re-resolved lock
        assert upgraded.returncode == 0, upgraded.stderr
        assert run_envr("allow", cwd=root).returncode == 0
        second = store_path(root)
        assert second != first
        wait_for("the re-locked package realised", lambda: is_valid(second))
        wait_for("the watcher to record it", lambda: project_status(file).get("state") == "realised")
    finally:
        assert watcher.stop() == 0, watcher.output()


def test_jobs_bounds_the_builds_running_at_once(isolated: Path) -> None:
    files, started, release = [], [], []
    for name in ("a", "b"):
        s, r = isolated / f"started-{name}", isolated / f"release-{name}"
        script = f"touch {s}; while [ ! -e {r} ]; do sleep 0.05; done; "
        files.append(write_project(isolated / name, name, isolated / "counter", before=script))
        trust.approve(str(files[-1]))
        started.append(s)
        release.append(r)
    watcher = Watcher(isolated, "--jobs", "1", "--debounce", "0.2")
    try:
        watcher.wait_running()
        first = wait_for(
            "one build to start", lambda: next((i for i in (0, 1) if started[i].exists()), None) is not None
        )
        assert first
        i = 0 if started[0].exists() else 1
        other = 1 - i
        assert project_status(files[other]).get("state") == "queued"
        assert not started[other].exists()  # with --jobs 1 the second waits for the first
        release[i].touch()
        wait_for("the second build to start", started[other].exists)
        release[other].touch()
        wait_for("both realised", lambda: all(project_status(f).get("state") == "realised" for f in files))
    finally:
        for r in release:
            r.touch()
        assert watcher.stop() == 0, watcher.output()


def test_what_it_realised_survives_gc_while_it_runs_and_may_be_collected_after(isolated: Path) -> None:
    counter = isolated / "counter"
    root = isolated / "proj"
    file = write_project(root, "kept", counter)
    trust.approve(str(file))
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        path = store_path(root)
        wait_for("the package realised", lambda: is_valid(path) and project_status(file).get("state") == "realised")
        collected = run_envr("gc", cwd=isolated)  # before any cd: no generation roots it, the watcher does
        assert collected.returncode == 0, collected.stderr
        assert is_valid(path)
    finally:
        assert watcher.stop() == 0, watcher.output()
    assert run_envr("gc", cwd=isolated).returncode == 0
    assert not os.path.exists(path)


def test_a_deleted_project_file_is_reported_not_built(isolated: Path) -> None:
    root = isolated / "proj"
    file = write_project(root, "here", isolated / "counter")
    trust.approve(str(file))
    watcher = Watcher(isolated, "--debounce", "0.2")
    try:
        watcher.wait_running()
        wait_for("the first realisation", lambda: project_status(file).get("state") == "realised")
        file.unlink()
        wait_for("the watcher to notice", lambda: project_status(file).get("state") == "missing")
    finally:
        assert watcher.stop() == 0, watcher.output()
