"""D14: a truncated or garbage registry gives every command that needs it one line naming the file and
`envr store repair` (exit 1), never an internal error; the prompt keeps loading from the markers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from integrity_helpers import World, one_error_line, tool_files, world

__all__ = ["world"]


def damaged(world: World, how: str) -> tuple[Path, Path, Path]:
    root = world.project("r", '[env]\nX = "1"\n[packages]\na = { path = "./tree" }\n', tool_files())
    assert world.envr("sync", cwd=root).returncode == 0
    [path] = world.registered()
    fresh = world.project("fresh", '[packages]\nb = { path = "./tree" }\n', tool_files("t2"))
    reg = world.store / ".registry.sqlite"
    if how == "truncated":
        reg.write_bytes(reg.read_bytes()[:1000])
    elif how == "garbage":
        reg.write_bytes(os.urandom(8192))
    else:
        reg.write_bytes(b"")
    return root, fresh, Path(path)


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty"])
def test_every_store_command_names_the_registry_and_the_way_out(world: World, how: str) -> None:
    root, fresh, path = damaged(world, how)
    registry = str(world.store / ".registry.sqlite")
    commands = [
        ("sync",),  # everything realised: still checked, so a lost row is never rebuilt over a good path
        ("exec", str(fresh), "--", "t2"),
        ("gc",),
        ("store", "ls"),
        ("store", "verify"),
        ("store", "path", "a"),
        ("store", "rm", str(path)),
    ]
    for args in commands:
        where = fresh if args[0] == "sync" else root
        r = world.envr(*args, cwd=where)
        line = one_error_line(r, registry, "envr store repair")
        assert line.startswith("envr: "), (args, line)
    assert path.is_dir()


def test_the_prompt_still_loads_from_the_markers(world: World) -> None:
    root, _, path = damaged(world, "garbage")
    r = world.envr("export", "json", cwd=root, extra={"ENVR_AUTO_SYNC": "0"})
    assert r.returncode == 0 and '"X": "1"' in r.stdout and str(path) in r.stdout, r.stderr


def test_repair_then_everything_works_again(world: World) -> None:
    root, fresh, path = damaged(world, "truncated")
    r = world.envr("store", "repair", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "kept the unreadable registry as" in r.stderr
    assert (world.store / ".registry.sqlite.broken").exists()
    ran = world.envr("exec", str(fresh), "--", "t2", cwd=fresh)
    assert (ran.returncode, ran.stdout) == (0, "t2\n"), ran.stderr
    assert str(path) in world.registered()
    assert world.envr("store", "verify", cwd=root).returncode == 0
