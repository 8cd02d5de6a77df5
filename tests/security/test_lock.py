"""`envr lock --check` and the path-package hash: a same-size edit with its mtime restored is a change (D20),
and a lock whose `kind` differs from envr.toml does not match (D23).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from .helpers import World, assert_no_internal_error


def aged(root: Path, seconds: int = 120) -> None:
    """Every mtime under root well in the past, so no file counts as just modified (racy) to any cache."""
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        past = st.st_mtime_ns - seconds * 10**9
        os.utime(p, ns=(past, past), follow_symlinks=False)


LAYOUTS = {
    "top-level-file": "bin/t1",
    "nested-file": "bin/deep/er/t1",
}


def tool_tree(world: World, rel: str, locked: bool) -> tuple[Path, Path]:
    root = world.tmp / "r"
    exe = root / "tree" / rel
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\necho t1\n")
    exe.chmod(0o755)
    (root / "tree" / "data").write_bytes(b"x" * 8192)
    (root / "envr.toml").write_text(f'[packages]\nmytool = {{ path = "./tree", bin = ["{rel}"] }}\n')
    aged(root)
    if locked:
        r = world.envr("lock", "--trust", "--project", str(root), cwd=root)
        assert r.returncode == 0, r.stderr
    world.allow(root)
    sync = world.envr("sync", cwd=root)
    assert sync.returncode == 0, sync.stderr
    return root, exe


def same_size_edit(path: Path, old: bytes, new: bytes) -> None:
    """Replace old by new (same length) in place, then restore the file's atime and mtime exactly."""
    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert old in data
    with open(path, "r+b") as f:  # in place: same inode
        f.write(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_lock_check_sees_a_same_size_edit_with_the_mtime_restored(world: World, layout: str) -> None:
    root, exe = tool_tree(world, LAYOUTS[layout], locked=True)
    assert world.envr("lock", "--check", cwd=root).returncode == 0

    same_size_edit(exe, b"t1", b"t2")
    r = world.envr("lock", "--check", cwd=root)

    assert_no_internal_error(r)
    assert r.returncode != 0, f"lock --check says the lock matches a changed tree: {r.stderr}"
    assert "mytool" in r.stdout + r.stderr


def test_lock_check_sees_one_flipped_byte_deep_in_a_data_file(world: World) -> None:
    root, _exe = tool_tree(world, "bin/t1", locked=True)
    data = root / "tree" / "data"

    same_size_edit(data, b"x" * 8192, b"x" * 4096 + b"y" + b"x" * 4095)
    r = world.envr("lock", "--check", cwd=root)

    assert r.returncode != 0, r.stderr


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_exec_runs_the_new_content_after_a_same_size_edit(world: World, layout: str) -> None:
    root, exe = tool_tree(world, LAYOUTS[layout], locked=False)
    before = world.envr("store", "path", "mytool", cwd=root).stdout.strip()
    first = world.envr("exec", str(root), "--", "t1", cwd=root)
    assert first.stdout == "t1\n", first.stderr

    same_size_edit(exe, b"t1", b"t2")
    r = world.envr("exec", str(root), "--", "t1", cwd=root)
    after = world.envr("store", "path", "mytool", cwd=root).stdout.strip()

    assert r.stdout == "t2\n", f"exec ran the stale store copy: {r.stdout!r} {r.stderr}"
    assert after != before, "a changed file must give a new store path"


KIND_SWAPS = {
    "path-to-url": ('[packages]\nmytool = { path = "./tree" }\n', 'kind = "path"', 'kind = "url"'),
    "path-to-pypi": ('[packages]\nmytool = { path = "./tree" }\n', 'kind = "path"', 'kind = "pypi"'),
    "path-to-npm": ('[packages]\nmytool = { path = "./tree" }\n', 'kind = "path"', 'kind = "npm"'),
}


@pytest.mark.parametrize("case", list(KIND_SWAPS))
def test_lock_check_fails_when_the_locked_kind_differs(world: World, case: str) -> None:
    toml, old, new = KIND_SWAPS[case]
    root = world.tmp / "r"
    (root / "tree").mkdir(parents=True)
    (root / "tree" / "f").write_text("x\n")
    (root / "envr.toml").write_text(toml)
    assert world.envr("lock", "--trust", "--project", str(root), cwd=root).returncode == 0
    lock = root / "envr.lock"
    lock.write_text(lock.read_text().replace(old, new))

    r = world.envr("lock", "--check", "--project", str(root), cwd=root)

    assert_no_internal_error(r)
    assert r.returncode != 0, f"lock --check passed a lock sync refuses: {r.stderr}"
    assert "mytool" in r.stdout + r.stderr


def test_lock_check_fails_when_a_url_entry_is_locked_as_a_path(world: World) -> None:
    tool = world.tmp / "tool"
    tool.write_text("#!/bin/sh\necho tool\n")
    sha = hashlib.sha256(tool.read_bytes()).hexdigest()
    root = world.project("r", f'[packages]\nmytool = {{ url = "{tool.as_uri()}", sha256 = "{sha}" }}\n')
    assert world.envr("lock", "--trust", cwd=root).returncode == 0
    lock = root / "envr.lock"
    lock.write_text(lock.read_text().replace('kind = "url"', 'kind = "path"'))

    r = world.envr("lock", "--check", cwd=root)

    assert_no_internal_error(r)
    assert r.returncode != 0, r.stderr
    assert "mytool" in r.stdout + r.stderr
