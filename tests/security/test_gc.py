"""gc deletes only what envr made (D3), `--dry-run` tells the truth (D3), a lost or corrupted registry stops gc
and `envr store repair` recovers it (D3, D14), and gc never deletes a path a prompt is entering (D9).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from .helpers import (
    World,
    assert_no_internal_error,
    assert_one_line_error,
    diff_snapshots,
    pid_alive,
    registered,
    snapshot,
    store_entries,
    wait_until,
)

FOREIGN = {
    "Documents/taxes.pdf": b"%PDF precious\n",
    "notes.txt": b"do not delete\n",
    "src/other/main.c": b"int main(void) { return 0; }\n",
    "a-b-c": b"dashes, like a store path\n",
    "node_modules/left-pad/index.js": b"module.exports = 1;\n",
    "UPPER-Tool-1.0/bin/x": b"#!/bin/sh\n",
}


def tool_project(world: World, name: str = "r", tool: str = "t1") -> Path:
    root = world.tmp / name
    (root / "tree" / "bin").mkdir(parents=True)
    (root / "tree" / "bin" / tool).write_text(f"#!/bin/sh\necho {tool}\n")
    (root / "tree" / "bin" / tool).chmod(0o755)
    (root / "envr.toml").write_text('[env]\nX = "1"\n[packages]\na = { path = "./tree" }\n')
    world.allow(root)
    r = world.envr("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


def plant(where: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = where / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def entries_snapshot(store: Path) -> dict[str, object]:
    return {p.name: snapshot(p) for p in store.iterdir() if p.name not in (".gc.flock", ".flocks", ".roots")}


# --- foreign entries ----------------------------------------------------------------------------------------


def test_gc_keeps_foreign_files_in_the_store_directory_and_reports_them(world: World) -> None:
    project = tool_project(world)
    [store_path] = store_entries(world.store)
    plant(world.store, FOREIGN)
    foreign = {name: snapshot(world.store / name.split("/")[0]) for name in FOREIGN}

    r = world.envr("gc", cwd=project)

    assert_no_internal_error(r)
    for name, snap in foreign.items():
        assert diff_snapshots(snap, snapshot(world.store / name.split("/")[0])) == [], f"gc touched {name}"
    said = r.stdout + r.stderr
    for top in {name.split("/")[0] for name in FOREIGN}:
        assert top in said, f"gc did not report the foreign entry {top!r}: {said!r}"
    assert store_path.is_dir(), "the rooted store path must survive"


def test_gc_with_envr_store_pointing_at_home_deletes_nothing_of_the_users(world: World) -> None:
    """D3's first script: ENVR_STORE = $HOME (a typo, or a project's [env]) must not empty $HOME."""
    plant(world.home, {"Documents/taxes.pdf": b"precious\n", "src/other/x.c": b"x\n", ".bashrc": b"# rc\n"})
    before = snapshot(world.home)

    dry = world.envr("gc", "--dry-run", extra_env={"ENVR_STORE": str(world.home)})
    real = world.envr("gc", extra_env={"ENVR_STORE": str(world.home)})

    assert_no_internal_error(dry)
    assert_no_internal_error(real)
    changed = [c for c in diff_snapshots(before, snapshot(world.home)) if not c.startswith((".gc.flock", ".flocks"))]
    assert changed == [], changed


def test_dry_run_lists_every_path_the_real_run_deletes(world: World) -> None:
    # an unrooted registered path: its project directory is gone (the real run drops its generations first)
    gone = tool_project(world, "gone", "gone-tool")
    shutil.rmtree(gone)
    # a rooted one, which neither run may touch
    kept = tool_project(world, "kept", "kept-tool")
    # an interrupted build: kill -9 during the build script leaves an unregistered tree behind
    slow = world.tmp / "slow"
    (slow / "src").mkdir(parents=True)
    (slow / "src" / "f").write_text("x\n")
    started = world.tmp / "started"
    (slow / "envr.toml").write_text(
        f'[packages]\nb = {{ path = "./src", build = "mkdir -p \\"$out/bin\\"; touch {started}; sleep 30" }}\n'
    )
    world.allow(slow)
    sync = world.popen("sync", cwd=slow)
    try:
        assert wait_until(started.exists, 30), "the build never started"
    finally:
        sync.send_signal(signal.SIGKILL)
        sync.communicate()
    before = {p.name for p in world.store.iterdir()}

    dry = world.envr("gc", "--dry-run", cwd=kept)
    assert_no_internal_error(dry)
    assert {p.name for p in world.store.iterdir()} == before, "--dry-run deleted something"
    real = world.envr("gc", cwd=kept)
    assert_no_internal_error(real)

    deleted = before - {p.name for p in world.store.iterdir()}
    assert deleted, "the scenario must leave something for gc to delete"
    listed = dry.stdout + dry.stderr
    assert [name for name in sorted(deleted) if name not in listed] == []
    assert any(p.name.endswith("-a-local") for p in store_entries(world.store))


# --- a lost or corrupted registry ---------------------------------------------------------------------------


def corrupt(store: Path, how: str) -> None:
    reg = store / ".registry.sqlite"
    if how == "deleted":
        reg.unlink()
    elif how == "truncated":
        data = reg.read_bytes()[:1000]
        reg.write_bytes(data)
    elif how == "garbage":
        reg.write_bytes(os.urandom(4096))
    elif how == "empty":
        reg.write_bytes(b"")
    else:
        raise ValueError(how)
    for extra in (".registry.sqlite-wal", ".registry.sqlite-shm", ".registry.sqlite-journal"):
        (store / extra).unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["deleted", "truncated", "garbage", "empty"])
def test_gc_without_a_readable_registry_deletes_nothing_and_names_store_repair(world: World, how: str) -> None:
    project = tool_project(world)
    corrupt(world.store, how)
    before = entries_snapshot(world.store)

    r = world.envr("gc", cwd=project)

    assert_one_line_error(r, "envr store repair")
    assert diff_snapshots(before, entries_snapshot(world.store)) == []


@pytest.mark.parametrize("how", ["deleted", "garbage"])
def test_verify_without_a_readable_registry_does_not_pass(world: World, how: str) -> None:
    """D3: with the registry lost, `envr store verify` said "verified 0 store paths: 0 bad"."""
    project = tool_project(world)
    corrupt(world.store, how)

    r = world.envr("store", "verify", cwd=project)

    assert_one_line_error(r, "envr store repair")


@pytest.mark.parametrize("how", ["deleted", "truncated"])
def test_store_repair_re_registers_the_valid_paths(world: World, how: str) -> None:
    project = tool_project(world)
    [store_path] = store_entries(world.store)
    plant(world.store, {"Documents/taxes.pdf": b"precious\n"})
    corrupt(world.store, how)

    r = world.envr("store", "repair", cwd=project)

    assert r.returncode == 0, r.stderr
    assert_no_internal_error(r)
    assert registered(world) == [str(store_path)], "repair registers the valid store path, and nothing foreign"
    verify = world.envr("store", "verify", cwd=project)
    assert verify.returncode == 0, verify.stderr
    assert "verified 1 store path" in verify.stderr + verify.stdout
    changes, _ = world.export_json(project)
    assert str(store_path) in (changes.get("PATH") or ""), "the prompt still finds the tool"
    ran = world.envr("exec", str(project), "--", "t1", cwd=project)
    assert (ran.returncode, ran.stdout) == (0, "t1\n"), ran.stderr
    gc = world.envr("gc", cwd=project)
    assert_no_internal_error(gc)
    assert store_path.is_dir() and (world.store / "Documents" / "taxes.pdf").exists()


def test_store_repair_does_not_register_an_interrupted_build(world: World) -> None:
    tool_project(world)
    slow = world.tmp / "slow"
    (slow / "src").mkdir(parents=True)
    started = world.tmp / "started"
    (slow / "envr.toml").write_text(
        f'[packages]\nb = {{ path = "./src", build = "mkdir -p \\"$out/bin\\"; touch {started}; sleep 30" }}\n'
    )
    (slow / "src" / "f").write_text("x\n")
    world.allow(slow)
    sync = world.popen("sync", cwd=slow)
    try:
        assert wait_until(started.exists, 30)
    finally:
        sync.send_signal(signal.SIGKILL)
        sync.communicate()
    corrupt(world.store, "deleted")

    r = world.envr("store", "repair", cwd=slow)

    assert r.returncode == 0, r.stderr
    assert [p for p in registered(world) if p.endswith("-b-local")] == []


# --- D9: gc racing a prompt that enters a project -----------------------------------------------------------


def shared_package_projects(world: World) -> tuple[Path, Path]:
    """P and Q use the same path package (one store path). P also sets 10,000 variables, which makes the
    prompt's work between checking the store path and recording the generation long enough to race."""
    roots = []
    for name in ("P", "Q"):
        root = world.tmp / name
        (root / "t" / "bin").mkdir(parents=True)
        (root / "t" / "bin" / "t").write_text("#!/bin/sh\necho t\n")
        (root / "t" / "bin" / "t").chmod(0o755)
        env = "[env]\n" + "".join(f'V{i} = "value {i}"\n' for i in range(10_000)) if name == "P" else ""
        (root / "envr.toml").write_text(env + '[packages]\np = { path = "./t" }\n')
        world.allow(root)
        roots.append(root)
    return roots[0], roots[1]


def test_gc_never_deletes_a_store_path_a_prompt_is_entering(world: World) -> None:
    world.env["ENVR_AUTO_SYNC"] = "0"
    p, q = shared_package_projects(world)
    broken = []
    for i, release_after in enumerate([0.1, 0.2, 0.35, 0.1, 0.2, 0.35]):
        if not list(world.store.glob(".valid/*")):
            assert world.envr("sync", cwd=q).returncode == 0  # realised again ...
        shutil.rmtree(world.data / "envr" / "generations", ignore_errors=True)  # ... and rooted by nothing
        # Hold the store lock shared, as a running sync does (README: gc takes <store>/.gc.flock exclusively),
        # so that gc starts collecting exactly while the prompt is between its check and its generation.
        fd = os.open(world.store / ".gc.flock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            gc = world.popen("gc", cwd=world.tmp)
            wait_until(lambda: False, 0.3)
            enter = world.popen("export", "json", cwd=p)
            wait_until(lambda: False, release_after)
        finally:
            os.close(fd)
        out, err = enter.communicate(timeout=60)
        gc.communicate(timeout=60)
        assert "internal error" not in err
        path = (json.loads(out) if out.strip() else {}).get("PATH") or ""
        dead = [e for e in path.split(":") if e.startswith(str(world.store)) and not os.path.isdir(e)]
        if dead:
            broken.append(f"round {i}: {dead}")
    assert broken == [], f"prompts exported PATH entries into store paths gc had deleted: {broken}"


def test_gc_deletes_nothing_while_envr_exec_runs(world: World) -> None:
    """S7 held: a guard that the D9 fix keeps exec's temporary root."""
    project = tool_project(world)
    shutil.rmtree(world.data / "envr" / "generations", ignore_errors=True)
    long = world.popen("exec", str(project), "--", "sh", "-c", "sleep 3; t1", cwd=project)
    try:
        wait_until(lambda: False, 1.0)
        gc = world.envr("gc", cwd=project)
        assert_no_internal_error(gc)
        out, err = long.communicate(timeout=30)
    finally:
        if pid_alive(long.pid):
            long.kill()
    assert (long.returncode, out) == (0, "t1\n"), err
