"""Store errors are one clear line and never drop the rest of the project: a corrupted registry (D14), an
OSError while realising (a fifo or socket in $out, a full disk, a read-only store: D15), an ENVR_STORE that
cannot work on PATH (D24), and corrupted generation files (D25).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import (
    World,
    assert_no_internal_error,
    assert_one_line_error,
    error_lines,
    registered,
    store_entries,
)


def tool_project(world: World, name: str = "r", env: str = 'X = "1"') -> Path:
    root = world.tmp / name
    (root / "tree" / "bin").mkdir(parents=True)
    (root / "tree" / "bin" / "hi").write_text("#!/bin/sh\necho hi\n")
    (root / "tree" / "bin" / "hi").chmod(0o755)
    (root / "envr.toml").write_text(f'[env]\n{env}\n[packages]\na = {{ path = "./tree" }}\n')
    if world.uid is not None:
        for p in [root, *root.rglob("*")]:
            os.lchown(p, world.uid, world.uid)
    world.allow(root)
    return root


# --- D14: a corrupted registry ------------------------------------------------------------------------------


def corrupt_registry(store: Path, how: str) -> None:
    reg = store / ".registry.sqlite"
    if how == "truncated":
        reg.write_bytes(reg.read_bytes()[:1000])
    elif how == "garbage":
        reg.write_bytes(random.Random(7).randbytes(8192))
    else:
        reg.write_bytes(b"")
    for extra in ("-wal", "-shm", "-journal"):
        Path(f"{reg}{extra}").unlink(missing_ok=True)


COMMANDS = {
    "sync": ["sync"],
    "exec": ["exec", ".", "--", "hi"],
    "store-ls": ["store", "ls"],
    "store-verify": ["store", "verify"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_corrupted_registry_is_one_line_naming_it_and_the_way_out(world: World, how: str, command: str) -> None:
    root = tool_project(world)
    assert world.envr("sync", cwd=root).returncode == 0
    corrupt_registry(world.store, how)

    r = world.envr(*COMMANDS[command], cwd=root)

    line = assert_one_line_error(r, "envr store repair")
    assert "registry" in line, line


def test_a_corrupted_registry_does_not_stop_the_prompt(world: World) -> None:
    root = tool_project(world)
    assert world.envr("sync", cwd=root).returncode == 0
    corrupt_registry(world.store, "garbage")

    changes, _stderr = world.export_json(root)

    assert changes.get("X") == "1"


# --- D15: OSError while realising ---------------------------------------------------------------------------

ODD_OUTPUTS = {
    "fifo": 'mkfifo "$out/fifo"',
    "socket": '(cd "$out" && python3 -c \'import socket; socket.socket(socket.AF_UNIX).bind("sock")\')',
    "char-device": 'mknod "$out/null" c 1 3',
}


def odd_build(world: World, what: str) -> Path:
    root = world.tmp / "p"
    (root / "src").mkdir(parents=True)
    (root / "src" / "tool").write_text("#!/bin/sh\necho tool\n")
    script = 'mkdir -p \\"$out/bin\\"; ' + ODD_OUTPUTS[what].replace('"', '\\"')
    (root / "envr.toml").write_text(
        f'[env]\nX = "1"\n[packages]\nb = {{ path = "./src", build = "{script}" }}\n'.replace('\\\\"', '\\"')
    )
    world.allow(root)
    return root


@pytest.mark.parametrize("what", list(ODD_OUTPUTS))
def test_a_build_leaving_a_special_file_is_one_line_naming_the_package(world: World, what: str) -> None:
    if what == "char-device" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    root = odd_build(world, what)

    r = world.envr("sync", cwd=root)

    assert_one_line_error(r, "b")
    assert registered(world) == []


@pytest.mark.parametrize("what", ["fifo", "socket"])
def test_a_build_leaving_a_special_file_still_loads_the_projects_variables(world: World, what: str) -> None:
    root = odd_build(world, what)

    changes, stderr = world.export_json(root)

    assert changes.get("X") == "1", f"the project's [env] was dropped: {stderr}"
    assert "envr.toml: None" not in stderr
    assert len([line for line in error_lines(stderr) if not line.startswith("envr: loaded ")]) <= 1  # the cause, once


@pytest.fixture
def tiny_store(world: World) -> Iterator[Path]:
    """ENVR_STORE on a 1 MiB tmpfs (root and mount needed; skipped elsewhere)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    store = world.tmp / "tiny-store"
    store.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(store)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    world.env["ENVR_STORE"] = str(store)
    try:
        yield store
    finally:
        subprocess.run(["umount", "-l", str(store)], check=False)


def big_path_project(world: World) -> Path:
    root = world.tmp / "big"
    (root / "tree" / "bin").mkdir(parents=True)
    (root / "tree" / "bin" / "hi").write_text("#!/bin/sh\necho hi\n")
    (root / "tree" / "bin" / "hi").chmod(0o755)
    (root / "tree" / "blob").write_bytes(random.Random(3).randbytes(3 << 20))  # 3 MiB cannot fit in 1 MiB
    (root / "envr.toml").write_text('[env]\nX = "1"\n[packages]\nbig = { path = "./tree" }\n')
    world.allow(root)
    return root


def test_a_full_disk_while_copying_a_path_package_is_one_line(world: World, tiny_store: Path) -> None:
    root = big_path_project(world)

    r = world.envr("sync", cwd=root)

    assert_one_line_error(r, "big")
    assert [p.name for p in store_entries(tiny_store)] == []


def test_a_full_disk_does_not_drop_the_projects_variables_at_the_prompt(world: World, tiny_store: Path) -> None:
    root = big_path_project(world)

    changes, stderr = world.export_json(root)

    assert changes.get("X") == "1", stderr
    assert "envr.toml: No space" not in stderr


def make_read_only(store: Path) -> None:
    """The user's own store, made read-only (as a user: root ignores modes)."""
    for p in [store, *store.iterdir()]:
        if p.is_dir() and not p.is_symlink():
            if not p.name.startswith(".") or p.name in (".flocks", ".valid", ".roots"):
                p.chmod(0o555)
        elif p.is_file():
            p.chmod(0o444)


def test_exec_works_on_a_read_only_store_when_everything_is_realised(user_world: World) -> None:
    world = user_world
    root = tool_project(world)
    assert world.envr("sync", cwd=root).returncode == 0
    make_read_only(world.store)

    r = world.envr("exec", str(root), "--", "hi", cwd=root)

    assert_no_internal_error(r)
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr


def test_a_read_only_store_does_not_drop_the_projects_variables(user_world: World) -> None:
    world = user_world
    done = tool_project(world, "done")
    assert world.envr("sync", cwd=done).returncode == 0
    make_read_only(world.store)
    fresh = tool_project(world, "fresh", 'X = "2"')
    (fresh / "tree" / "extra").write_text("a different tree, so a path not yet in the store\n")
    os.lchown(fresh / "tree" / "extra", world.uid or 0, world.uid or 0)

    changes, stderr = world.export_json(fresh)
    r = world.envr("sync", cwd=fresh)

    assert changes.get("X") == "2", stderr
    assert "Read-only file system" not in stderr or "envr.toml" not in stderr
    assert len([line for line in error_lines(stderr) if not line.startswith("envr: loaded ")]) <= 1  # the cause, once
    assert_one_line_error(r)


# --- D24: store paths that cannot work -----------------------------------------------------------------------


def test_an_envr_store_containing_a_colon_is_refused_clearly(world: World) -> None:
    root = tool_project(world)
    store = world.tmp / "st:ore"

    sync = world.envr("sync", cwd=root, extra_env={"ENVR_STORE": str(store)})
    run = world.envr("exec", str(root), "--", "hi", cwd=root, extra_env={"ENVR_STORE": str(store)})

    assert_one_line_error(sync, "ENVR_STORE")
    if run.stdout != "hi\n":
        assert_one_line_error(run, "ENVR_STORE")


def test_a_very_long_store_path_gives_a_clear_line(world: World) -> None:
    root = tool_project(world)
    store = world.tmp / "/".join(["d" * 200] * 18)  # about 3.6k characters

    r = world.envr("sync", cwd=root, extra_env={"ENVR_STORE": str(store)})

    if r.returncode == 0:
        run = world.envr("exec", str(root), "--", "hi", cwd=root, extra_env={"ENVR_STORE": str(store)})
        assert run.stdout == "hi\n", run.stderr
    else:
        line = assert_one_line_error(r)
        assert "ENVR_STORE" in line or "too long" in line.lower(), line[:400]


# --- D25: corrupted generation files ------------------------------------------------------------------------


def generations_of(world: World) -> Path:
    [gdir] = list((world.data / "envr" / "generations").iterdir())
    return gdir


def project_with_generations(world: World) -> Path:
    """Two generations (X = 1, then an approved edit to X = 2), the latest current."""
    for value in ("1", "2"):
        root = world.project("p", f'[env]\nX = "{value}"\nY = "always"\n')
        world.allow(root)
        changes, stderr = world.export_json(root)
        assert changes.get("X") == value, stderr
    assert len(list(generations_of(world).glob("*.gen"))) == 2
    return root


@pytest.mark.parametrize(
    "damage",
    ["current-non-utf8", "pin-non-utf8", "current-garbage", "current-is-a-directory", "pin-points-nowhere"],
)
def test_damaged_generation_files_do_not_break_the_prompt(world: World, damage: str) -> None:
    root = project_with_generations(world)
    gdir = generations_of(world)
    if damage == "current-non-utf8":
        (gdir / "current").write_bytes(b"\xff\xfe 1")
    elif damage == "pin-non-utf8":
        (gdir / "pin").write_bytes(b"\xff\xfe 1 \x80")
    elif damage == "current-garbage":
        (gdir / "current").write_text("not a generation at all\n")
    elif damage == "current-is-a-directory":
        (gdir / "current").unlink()
        (gdir / "current").mkdir()
    else:
        (gdir / "pin").write_text("999 0000\n")

    changes, stderr = world.export_json(root, extra_env={})
    status = world.envr("status", cwd=root, extra_env={})

    assert changes.get("Y") == "always", f"the project did not load: {stderr}"
    assert_no_internal_error(status)


def test_an_empty_generation_is_not_loaded_as_pinned(world: World) -> None:
    root = project_with_generations(world)
    r = world.envr("rollback", cwd=root, extra_env={})
    assert r.returncode == 0, r.stderr
    gdir = generations_of(world)
    pinned = (gdir / "pin").read_text().split()[0]
    (gdir / f"{pinned}.gen").write_bytes(b"")

    changes, stderr = world.export_json(root, extra_env={})

    assert changes.get("Y") == "always", f"an empty environment was loaded: {changes} {stderr}"
    assert "pinned" not in stderr, stderr
