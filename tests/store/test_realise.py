"""Realising url, build and path packages into the store: atomic, deduplicated, locked, and kill-safe."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from envr.store.hashing import tree_hash
from envr_testing import ENVR
from store_helpers import (
    HELLO,
    Server,
    server,
    store_entries,
    tar_bytes,
    write_project,
    zip_bytes,
)

__all__ = ["server"]


def registered(store: Path) -> list[str]:
    db = store / ".registry.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT path FROM paths")]


def sync(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    from store_helpers import run_envr

    return run_envr("sync", cwd=root, env={**os.environ, **env})


def run_in(root: Path, *command: str) -> str:
    from store_helpers import run_envr

    r = run_envr("exec", str(root), "--", *command, cwd=root)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)})),
        ("hello.tar.xz", tar_bytes({"bin/hello": (HELLO, 0o755)}, "w:xz")),
        ("hello.tar.bz2", tar_bytes({"bin/hello": (HELLO, 0o755)}, "w:bz2")),
        ("hello.zip", zip_bytes({"bin/hello": (HELLO, 0o755)})),
    ],
)
def test_archive_is_unpacked_and_its_bin_exposed(isolated: Path, server: Server, name: str, data: bytes) -> None:
    url, sha = server.put(name, data)
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{sha}", version = "1.0" }}')
    r = sync(root)
    assert r.returncode == 0, r.stderr
    assert "synced 1 package (1 built" in r.stderr
    assert run_in(root, "hello") == "hello from the store\n"
    (path,) = registered(isolated / "store")
    assert path.endswith("-hello-1.0") and os.path.basename(path) in store_entries(isolated / "store")


def test_single_file_is_kept_as_an_executable(isolated: Path, server: Server) -> None:
    url, sha = server.put("tool-linux", HELLO)
    root = write_project(isolated / "p", f'tool = {{ url = "{url}", sha256 = "{sha}" }}')
    assert sync(root).returncode == 0
    assert run_in(root, "tool") == "hello from the store\n"


def test_bin_globs_pick_executables_inside_a_top_level_dir(isolated: Path, server: Server) -> None:
    data = tar_bytes({"pkg-2/tools/a": (HELLO, 0o755), "pkg-2/tools/b": (b"#!/bin/sh\necho b\n", 0o755)})
    url, sha = server.put("pkg.tar.gz", data)
    root = write_project(isolated / "p", f'pkg = {{ url = "{url}", sha256 = "{sha}", bin = ["*/tools/b"] }}')
    assert sync(root).returncode == 0
    assert run_in(root, "b") == "b\n"
    path = registered(isolated / "store")[0]
    assert os.listdir(os.path.join(path, ".envr", "bin")) == ["b"]


def test_two_projects_share_one_store_path_realised_once(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    entry = f'hello = {{ url = "{url}", sha256 = "{sha}" }}'
    a = write_project(isolated / "a", entry)
    b = write_project(isolated / "b", entry)
    assert sync(a).returncode == 0
    r = sync(b)
    assert r.returncode == 0 and "0 built, 1 already in the store" in r.stderr
    assert len(registered(isolated / "store")) == 1
    assert server.requests == ["/hello.tar.gz"]
    from store_helpers import run_envr

    pa = run_envr("store", "path", "hello", cwd=a).stdout
    pb = run_envr("store", "path", "hello", cwd=b).stdout
    assert pa == pb and pa.strip() == registered(isolated / "store")[0]


def test_mirror_url_keeps_the_store_path(isolated: Path, server: Server) -> None:
    data = tar_bytes({"bin/hello": (HELLO, 0o755)})
    url1, sha = server.put("one.tar.gz", data)
    url2, _ = server.put("two.tar.gz", data)
    from store_helpers import run_envr

    a = write_project(isolated / "a", f'hello = {{ url = "{url1}", sha256 = "{sha}" }}')
    b = write_project(isolated / "b", f'hello = {{ url = "{url2}", sha256 = "{sha}" }}')
    assert run_envr("store", "path", "hello", cwd=a).stdout == run_envr("store", "path", "hello", cwd=b).stdout


C_PROJECT = {
    "greet-1.0/configure": (
        b'#!/bin/sh\nprefix=/usr/local\nfor a in "$@"; do case $a in --prefix=*) prefix=${a#--prefix=};; esac; done\n'
        b"printf 'PREFIX=%s\\n' \"$prefix\" > config.mk\n",
        0o755,
    ),
    "greet-1.0/Makefile": (
        b"include config.mk\ngreet: greet.c\n\tgcc -O0 -o greet greet.c\n"
        b"install: greet\n\tmkdir -p $(PREFIX)/bin\n\tcp greet $(PREFIX)/bin/greet\n",
        0o644,
    ),
    "greet-1.0/greet.c": (b'#include <stdio.h>\nint main(void){puts("greetings from C");return 0;}\n', 0o644),
}


def test_build_runs_configure_and_make_into_out(isolated: Path, server: Server) -> None:
    url, sha = server.put("greet-1.0.tar.gz", tar_bytes(C_PROJECT))
    script = "./configure --prefix=$out && make && make install"
    root = write_project(
        isolated / "p", f'greet = {{ url = "{url}", sha256 = "{sha}", version = "1.0", build = "{script}" }}'
    )
    r = sync(root)
    assert r.returncode == 0, r.stderr
    assert run_in(root, "greet") == "greetings from C\n"
    from store_helpers import run_envr

    assert run_envr("store", "verify", cwd=root).returncode == 0


def test_build_inputs_are_on_path_and_referenced(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    src = isolated / "src"
    src.mkdir()
    (src / "README").write_text("x")
    script = "mkdir -p $out/bin; printf '#!/bin/sh\\necho wrapped\\n' > $out/bin/wrap; chmod +x $out/bin/wrap; hello"
    root = write_project(
        isolated / "p",
        f'hello = {{ url = "{url}", sha256 = "{sha}" }}\n'
        f'wrap = {{ path = "{src}", build = "{script}", inputs = ["hello"] }}',
    )
    r = sync(root)
    assert r.returncode == 0, r.stderr
    assert run_in(root, "wrap") == "wrapped\n"
    from store_helpers import run_envr

    hello = run_envr("store", "path", "hello", cwd=root).stdout.strip()
    wrap = run_envr("store", "path", "wrap", cwd=root).stdout.strip()
    r = run_envr("store", "rm", hello, cwd=root)
    assert r.returncode == 1 and f"referenced by {wrap}" in r.stderr
    assert run_envr("store", "rm", wrap, cwd=root).returncode == 0
    assert run_envr("store", "rm", hello, cwd=root).returncode == 0
    assert registered(isolated / "store") == [] and store_entries(isolated / "store") == []


def test_path_source_changes_store_path_when_a_file_changes(isolated: Path) -> None:
    tools = isolated / "tools"
    (tools / "bin").mkdir(parents=True)
    (tools / "bin" / "t").write_text("#!/bin/sh\necho one\n")
    (tools / "bin" / "t").chmod(0o755)
    root = write_project(isolated / "p", 'tools = { path = "../tools" }')
    assert sync(root).returncode == 0
    assert run_in(root, "t") == "one\n"
    (tools / "bin" / "t").write_text("#!/bin/sh\necho two\n")
    assert sync(root).returncode == 0
    assert run_in(root, "t") == "two\n"
    assert len(registered(isolated / "store")) == 2


SLOW_BUILD = (
    "echo built >> {count}; if [ ! -e {go} ]; then touch {started}; sleep {sleep}; fi; "
    "mkdir -p $out/bin; printf '#!/bin/sh\\necho slow\\n' > $out/bin/slow; chmod +x $out/bin/slow"
)


def slow_project(isolated: Path, sleep: int) -> tuple[Path, Path, Path, Path]:
    src = isolated / "src"
    src.mkdir()
    (src / "f").write_text("x")
    count, go, started = isolated / "count", isolated / "go", isolated / "started"
    script = SLOW_BUILD.format(count=count, go=go, started=started, sleep=sleep)
    root = write_project(isolated / "p", f'slow = {{ path = "{src}", build = "{script}" }}')
    return root, count, go, started


def test_kill_9_during_a_build_leaves_nothing_valid_and_the_next_sync_succeeds(isolated: Path) -> None:
    root, _, go, started = slow_project(isolated, 30)
    proc = subprocess.Popen([ENVR, "sync"], cwd=root, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    store = isolated / "store"
    assert registered(store) == []
    assert len(store_entries(store)) == 1  # the half-built path, which is not valid
    go.touch()
    r = sync(root)
    assert r.returncode == 0, r.stderr
    assert run_in(root, "slow") == "slow\n"
    assert len(registered(store)) == 1 and store_entries(store) == [os.path.basename(registered(store)[0])]


def test_kill_9_while_unpacking_url_leaves_only_a_tmp_dir_cleaned_next_time(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{sha}" }}')
    from store_helpers import run_envr

    path = Path(run_envr("store", "path", "hello", cwd=root).stdout.strip())
    leftover = path.parent / f".tmp-{path.name}-99999999"
    (leftover / "bin").mkdir(parents=True)
    (leftover / "bin").chmod(0o555)
    assert sync(root).returncode == 0
    assert not leftover.exists()
    assert registered(isolated / "store") == [str(path)]


def test_concurrent_syncs_build_once_and_all_succeed(isolated: Path) -> None:
    root, count, _, _ = slow_project(isolated, 1)
    procs = [
        subprocess.Popen([ENVR, "sync"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert count.read_text() == "built\n"
    paths = {out.split("\t")[2] for out, _ in results}
    assert len(paths) == 1


def test_store_paths_are_read_only_and_verify_detects_a_modified_file(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{sha}" }}')
    assert sync(root).returncode == 0
    (path,) = registered(isolated / "store")
    hello = Path(path, "bin", "hello")
    assert hello.stat().st_mode & 0o222 == 0 and Path(path).stat().st_mode & 0o222 == 0
    from store_helpers import run_envr

    assert run_envr("store", "verify", cwd=root).returncode == 0
    hello.chmod(0o755)
    hello.write_bytes(b"#!/bin/sh\necho tampered\n")
    r = run_envr("store", "verify", cwd=root)
    assert r.returncode == 1 and f"{path}: corrupted" in r.stdout
    assert run_envr("store", "ls", cwd=root).stdout.startswith(path)


def test_verify_reports_a_missing_path(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{sha}" }}')
    assert sync(root).returncode == 0
    (path,) = registered(isolated / "store")
    from envr.store.tree import force_remove

    force_remove(path)
    from store_helpers import run_envr

    r = run_envr("store", "verify", cwd=root)
    assert r.returncode == 1 and f"{path}: missing" in r.stdout


def test_tree_hash_covers_exec_bit_and_symlinks(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    first = tree_hash(str(tmp_path))
    (tmp_path / "f").chmod(0o755)
    second = tree_hash(str(tmp_path))
    os.symlink("f", tmp_path / "l")
    third = tree_hash(str(tmp_path))
    assert len({first, second, third}) == 3
    assert json.dumps(first)


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, True, None, False], "a": "x"},
        {"s": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f é ☃ 🎉 \udcff'},
        [{"z": {"y": []}}, "", -3],
    ],
)
def test_canonical_json_matches_json_dumps(value: object) -> None:
    from envr.store.hashing import canonical_json

    assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def test_a_registered_path_without_its_marker_is_healed_not_rebuilt(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{sha}" }}')
    assert sync(root).returncode == 0
    (path,) = registered(isolated / "store")
    marker = isolated / "store" / ".valid" / os.path.basename(path)
    marker.unlink()  # as if killed between writing the row and the marker
    r = sync(root)
    assert r.returncode == 0 and "0 built" in r.stderr and marker.exists()
