"""D21: the store never widens a mode (checked as an unprivileged uid, read by another one).
D22: a build that points $out (or anything in it) outside its output is refused, and the target is unchanged.
D27: a path entry that leads out of the project through a symlink is refused with file:line; links inside
the tree are kept as links, links that resolve outside the package are refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from integrity_helpers import OTHER, World, one_error_line, tool_files, tree, user_world, world

__all__ = ["user_world", "world"]


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def private_tools(world: World, root: Path) -> None:
    tools = root / "tools"
    for rel, text, m in (
        ("private/token", "s3cret\n", 0o600),
        ("group/g", "group\n", 0o640),
        ("key", "k3y\n", 0o600),
        ("open", "open\n", 0o644),
        ("bin/hi", "#!/bin/sh\necho hi\n", 0o755),
    ):
        (tools / rel).parent.mkdir(parents=True, exist_ok=True)
        (tools / rel).write_text(text)
        (tools / rel).chmod(m)
    (tools / "private").chmod(0o700)
    (tools / "group").chmod(0o750)
    world.give(root)


def test_the_store_only_removes_write_bits_from_a_path_package(user_world: World) -> None:
    world = user_world
    root = world.tmp / "m"
    private_tools(world, root)
    root = world.project("m", '[packages]\nt = { path = "./tools" }\n')

    assert world.envr("sync", cwd=root).returncode == 0
    [sp] = map(Path, world.registered())

    for rel in ("private", "group", "key", "open", "bin/hi", "private/token"):
        assert mode(sp / rel) == mode(root / "tools" / rel) & ~0o222, rel
    assert mode(sp) == 0o555
    other = world.run("cat", str(sp / "private" / "token"), uid=OTHER)
    assert other.returncode != 0 and "s3cret" not in other.stdout
    assert world.run("cat", str(sp / "key"), uid=OTHER).returncode != 0
    assert world.run("cat", str(sp / "open"), uid=OTHER).stdout == "open\n"
    ran = world.envr("exec", str(root), "--", "hi", cwd=root)
    assert ran.stdout == "hi\n", ran.stderr


def test_the_store_keeps_the_modes_a_build_chose(user_world: World) -> None:
    world = user_world
    script = (
        'mkdir -p "$out/bin" "$out/private"; chmod 700 "$out/private"; echo s3cret > "$out/private/token"; '
        'echo k3y > "$out/key"; chmod 600 "$out/key"'
    ).replace('"', '\\"')
    root = world.project("b", f'[packages]\nb = {{ path = "./src", build = "{script}" }}\n', {"src/f": "x\n"})

    assert world.envr("sync", cwd=root).returncode == 0
    [sp] = map(Path, world.registered())

    assert (mode(sp / "private"), mode(sp / "key")) == (0o500, 0o400)
    assert world.run("cat", str(sp / "private" / "token"), uid=OTHER).returncode != 0


POINT_OUT = {
    "out-is-a-link-to-a-dir": 'rm -rf "$out"; ln -s {mine} "$out"',
    "out-is-a-relative-link": 'rm -rf "$out"; ln -s "$(realpath --relative-to="$(dirname "$out")" {mine})" "$out"',
    "out-is-a-link-to-a-file": 'rm -rf "$out"; ln -s {mine}/notes "$out"',
    "bin-is-a-link-out": 'mkdir -p "$out"; ln -s {mine} "$out/bin"',
    "nested-link-out": 'mkdir -p "$out/share"; ln -s {mine}/sub "$out/share/data"',
    "envr-dir-is-a-link-out": 'mkdir -p "$out"; ln -s {mine} "$out/.envr"',
    "link-chain-out": 'mkdir -p "$out/a"; ln -s . "$out/a/b"; ln -s b/../.. "$out/a/c"; ln -s c/.. "$out/up"',
}


@pytest.mark.parametrize("case", list(POINT_OUT))
def test_a_build_pointing_out_of_its_output_is_refused_and_the_target_untouched(world: World, case: str) -> None:
    mine = world.tmp / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "file").write_text("data\n")
    (mine / "notes").write_text("mine\n")
    before = tree(mine)
    script = POINT_OUT[case].format(mine=mine).replace('"', '\\"')
    root = world.project("o", f'[packages]\nb = {{ path = "./src", build = "{script}" }}\n', {"src/f": "x\n"})

    r = world.envr("sync", cwd=root)

    one_error_line(r, "packages.b")
    assert tree(mine) == before, "envr changed what the build's link points at"
    assert world.registered() == []
    assert [n for n in os.listdir(world.store) if not n.startswith(".")] == []


def test_a_path_entry_through_a_symlink_out_of_the_project_is_refused_with_its_line(world: World) -> None:
    outside = world.tmp / "outside"
    outside.mkdir()
    (outside / "private.conf").write_text("not the project's\n")
    root = world.project("clone", '[env]\nX = "1"\n\n[packages]\nu = { path = "./tools/etc" }\n', allow=False)
    (root / "tools").mkdir()
    (root / "tools" / "etc").symlink_to(outside)
    assert world.envr("allow", cwd=root).returncode == 0

    r = world.envr("sync", cwd=root)

    line = one_error_line(r, f"{root / 'envr.toml'}:5", "packages.u", "outside the project directory")
    assert str(outside) in line
    assert not any(p.endswith("-u-local") for p in world.registered())
    prompt = world.envr("export", "json", cwd=root)
    assert prompt.returncode == 0 and '"X": "1"' in prompt.stdout
    lock = world.envr("lock", "--trust", cwd=root)
    assert lock.returncode != 0 and "outside the project directory" in lock.stderr


def test_a_path_entry_through_a_symlink_inside_the_project_is_fine(world: World) -> None:
    root = world.project("p", '[packages]\nt = { path = "./link" }\n', tool_files("t1"), allow=False)
    (root / "link").symlink_to("tree")
    assert world.envr("allow", cwd=root).returncode == 0
    ran = world.envr("exec", str(root), "--", "t1", cwd=root)
    assert (ran.returncode, ran.stdout) == (0, "t1\n"), ran.stderr


def test_links_inside_the_tree_are_kept_and_links_out_are_refused(world: World) -> None:
    root = world.project("p", '[packages]\nt = { path = "./tree" }\n', {**tool_files("t1"), "tree/share/a": "a\n"})
    (root / "tree" / "share" / "b").symlink_to("a")
    (root / "tree" / "bin" / "t2").symlink_to("t1")
    ran = world.envr("exec", str(root), "--", "t2", cwd=root)
    assert (ran.returncode, ran.stdout) == (0, "t1\n"), ran.stderr
    [sp] = map(Path, world.registered())
    assert os.readlink(sp / "share" / "b") == "a"

    (root / "tree" / "share" / "passwd").symlink_to("/etc/passwd")
    r = world.envr("sync", cwd=root)
    one_error_line(r, "envr.toml:2", "share/passwd is a symlink to /etc/passwd, outside the package")
    (root / "tree" / "share" / "passwd").unlink()
    (root / "tree" / "share" / "up").symlink_to("../../../envr.toml")
    one_error_line(world.envr("sync", cwd=root), "share/up", "outside the package")
