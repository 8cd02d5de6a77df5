"""D15: every OSError while realising is one line naming the package, the path and the cause (never an
internal error), nothing is half-registered, and the project's variables still load. A read-only store still
runs what is realised in it. B19: a build that deletes $out is refused (not registered empty)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from integrity_helpers import ENVR, World, one_error_line, tool_files, user_world, world

__all__ = ["user_world", "world"]

ODD = {
    "fifo": 'mkfifo "$out/fifo"',
    "socket": "python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \"$out/sock\"",
    "device": 'mknod "$out/null" c 1 3',
}


def build(world: World, script: str, name: str = "p") -> Path:
    body = script.replace("\\", "\\\\").replace('"', '\\"')
    return world.project(
        name, f'[env]\nX = "1"\n[packages]\nb = {{ path = "./src", build = "{body}" }}\n', {"src/f": "x\n"}
    )


@pytest.mark.parametrize("what", list(ODD))
def test_a_special_file_in_out_is_one_line_and_nothing_is_registered(world: World, what: str) -> None:
    if what == "device" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    root = build(world, 'mkdir -p "$out/bin"; ' + ODD[what])

    r = world.envr("sync", cwd=root)

    line = one_error_line(r, "packages.b", "-b-local", "a store path holds only files, directories and symlinks")
    assert f"is a {'device' if what == 'device' else what}" in line
    assert world.registered() == [] and [n for n in os.listdir(world.store) if not n.startswith(".")] == []
    prompt = world.envr("export", "json", cwd=root)
    assert prompt.returncode == 0 and '"X": "1"' in prompt.stdout, prompt.stderr
    assert "envr.toml" not in prompt.stderr and "internal error" not in prompt.stderr


def test_a_build_that_deletes_out_is_refused(world: World) -> None:
    root = build(world, 'rm -rf "$out"')
    r = world.envr("sync", cwd=root)
    one_error_line(r, "packages.b", "the build deleted $out")
    assert world.registered() == []


def test_a_build_that_makes_its_own_envr_dir_is_refused(world: World) -> None:
    root = build(world, 'mkdir -p "$out/.envr/bin"')
    one_error_line(world.envr("sync", cwd=root), "packages.b", ".envr")


@pytest.fixture
def tiny_store(world: World) -> Path:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    world.store.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(world.store)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr!r}")
    return world.store  # unmounted by the world's cleanup


def test_a_full_disk_while_copying_a_path_package_is_one_line(world: World, tiny_store: Path) -> None:
    files = {**tool_files(), "tree/blob": random.Random(3).randbytes(3 << 20).hex()}
    root = world.project("big", '[env]\nX = "1"\n[packages]\nbig = { path = "./tree" }\n', files)

    r = world.envr("sync", cwd=root)

    one_error_line(r, "packages.big", "No space left on device")
    assert [n for n in os.listdir(tiny_store) if not n.startswith(".") or n.startswith(".tmp-")] == []
    prompt = world.envr("export", "json", cwd=root)
    assert prompt.returncode == 0 and '"X": "1"' in prompt.stdout, prompt.stderr
    assert "No space left on device" in prompt.stderr and "envr.toml" not in prompt.stderr


def read_only(world: World, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """envr run with the store bind-mounted read-only over itself (a private mount namespace, as root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a read-only bind mount needs root and unshare")
    store = str(world.store)
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return world.run("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", store, ENVR, *args, cwd=cwd)


def test_a_read_only_store_runs_what_is_realised_and_refuses_the_rest_in_one_line(world: World) -> None:
    done = world.project("done", '[packages]\na = { path = "./tree" }\n', tool_files("hi"))
    assert world.envr("sync", cwd=done).returncode == 0
    fresh = world.project("fresh", '[env]\nX = "2"\n[packages]\nb = { path = "./tree" }\n', tool_files("new"))

    ran = read_only(world, "exec", str(done), "--", "hi", cwd=done)
    sync = read_only(world, "sync", cwd=fresh)
    gc = read_only(world, "gc", cwd=done)
    prompt = read_only(world, "export", "json", cwd=fresh)

    assert (ran.returncode, ran.stdout) == (0, "hi\n"), ran.stderr
    one_error_line(sync, "packages.b", "Read-only file system")
    one_error_line(gc, str(world.store), "Read-only file system")
    assert prompt.returncode == 0 and '"X": "2"' in prompt.stdout, prompt.stderr
    assert "envr.toml" not in prompt.stderr


def test_a_store_the_user_cannot_write_runs_what_is_realised(user_world: World) -> None:
    world = user_world
    done = world.project("done", '[packages]\na = { path = "./tree" }\n', tool_files("hi"))
    assert world.envr("sync", cwd=done).returncode == 0
    for p in [world.store, *world.store.iterdir(), *(world.store / ".roots").iterdir()]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o555)
    fresh = world.project("fresh", '[env]\nX = "2"\n[packages]\nb = { path = "./tree" }\n', tool_files("new"))

    ran = world.envr("exec", str(done), "--", "hi", cwd=done)
    sync = world.envr("sync", cwd=fresh)

    assert (ran.returncode, ran.stdout) == (0, "hi\n"), ran.stderr
    one_error_line(sync, "packages.b", "Permission denied")
