"""D20: the path package hash cache sees a same-size edit whose mtime was restored (ctime moves).
D24: an ENVR_STORE that cannot work (a ':' would split PATH; too long for sqlite) is one line everywhere."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from envr.fsutil import tree_signature
from envr.store.sources import path as path_source
from integrity_helpers import World, one_error_line, tool_files, wait_until, world

__all__ = ["world"]


def same_size_edit(file: Path, text: str) -> None:
    st = file.stat()
    file.write_text(text)
    os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -d "$old mtime"
    assert file.stat().st_size == st.st_size and file.stat().st_mtime_ns == st.st_mtime_ns


def test_the_signature_sees_a_same_size_edit_with_the_mtime_restored(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "t1"
    tool.write_text("#!/bin/sh\necho t1\n")
    before = tree_signature(str(tmp_path))
    ctime = tool.stat().st_ctime_ns
    assert wait_until(lambda: time.time_ns() > ctime + 10_000_000)  # past the ctime tick of the first write
    same_size_edit(tool, "#!/bin/sh\necho t2\n")
    assert tree_signature(str(tmp_path)) != before


def test_lock_check_and_exec_see_a_same_size_edit_with_the_mtime_restored(world: World) -> None:
    root = world.project("r", '[packages]\na = { path = "./tree" }\n', tool_files("t1"), allow=False)
    tool = root / "tree" / "bin" / "t1"
    newest = max(p.stat().st_ctime_ns for p in [root / "tree", *root.rglob("*")])
    # Only a tree older than the racy window is cached at all: wait for that, so the cache is really used.
    assert wait_until(lambda: time.time_ns() > newest + path_source.racy_window(newest) + 100_000_000, 10)
    assert world.envr("lock", "--trust", cwd=root).returncode == 0
    assert world.envr("allow", cwd=root).returncode == 0
    ran = world.envr("exec", str(root), "--", "t1", cwd=root)
    assert ran.stdout == "t1\n", ran.stderr
    assert list((Path(world.env["XDG_CACHE_HOME"]) / "envr" / "path-hashes").iterdir()), "the hash was cached"

    same_size_edit(tool, "#!/bin/sh\necho t2\n")

    check = world.envr("lock", "--check", cwd=root)
    assert check.returncode != 0 and "changed since envr.lock was written" in check.stdout + check.stderr
    assert world.envr("lock", "--trust", cwd=root).returncode == 0 and world.envr("allow", cwd=root).returncode == 0
    again = world.envr("exec", str(root), "--", "t1", cwd=root)
    assert again.stdout == "t2\n", again.stderr


@pytest.mark.parametrize("bad", ["colon", "long"])
def test_an_unusable_store_directory_is_one_line_at_every_command_and_the_prompt(world: World, bad: str) -> None:
    root = world.project("m", '[env]\nX = "1"\n[packages]\nt = { path = "./tree" }\n', tool_files("hi"))
    store = world.tmp / "st:ore" if bad == "colon" else world.tmp / "/".join(["d" * 200] * 18)
    extra = {"ENVR_STORE": str(store)}
    needle = "would split PATH" if bad == "colon" else "at most 487 bytes"

    for args in (("sync",), ("exec", str(root), "--", "hi"), ("gc",), ("store", "ls"), ("store", "verify")):
        one_error_line(world.envr(*args, cwd=root, extra=extra), "ENVR_STORE", needle)
    prompt = world.envr("export", "json", cwd=root, extra=extra)
    assert "internal error" not in prompt.stderr and needle in prompt.stderr
    assert not store.exists()
