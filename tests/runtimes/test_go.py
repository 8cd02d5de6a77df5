"""go runtimes from a loopback mirror in go.dev's download-index layout: locking for every platform, and a
real toolchain (Debian's golang-go, repacked) realised and building a program from its store path."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from sources_helpers import World, one_error


def test_locking_go_for_every_platform_downloads_no_archive(world: World, go_mirror: Any) -> None:
    root = world.allowed_project(
        "l",
        'platforms = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"]\n[packages]\ngo = "go:1.23"\n',
    )
    r = world.run("lock", cwd=root, extra={"ENVR_GO_MIRROR": go_mirror.root})
    assert r.returncode == 0, r.stderr
    entry = tomllib.loads((root / "envr.lock").read_text())["packages"]["go"]
    assert entry["version"] == "1.23.2"
    assert entry["darwin-arm64"]["url"] == f"{go_mirror.root}/go1.23.2.darwin-arm64.tar.gz"
    assert {"linux-x64", "linux-arm64", "darwin-x64"} <= set(entry)
    assert go_mirror.archive_requests() == []


def test_go_mod_names_the_version(world: World, go_mirror: Any) -> None:
    root = world.tmp / "m"
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    world.allowed_project("m", '[packages]\ngo = { version-file = "go.mod" }\n')
    assert world.run("lock", cwd=root, extra={"ENVR_GO_MIRROR": go_mirror.root}).returncode == 0
    assert tomllib.loads((root / "envr.lock").read_text())["packages"]["go"]["version"] == "1.22.8"
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n\ntoolchain go1.23.1\n")
    assert world.run("lock", cwd=root, extra={"ENVR_GO_MIRROR": go_mirror.root}).returncode == 0
    assert tomllib.loads((root / "envr.lock").read_text())["packages"]["go"]["version"] == "1.23.1"


def test_an_unstable_or_missing_go_names_the_newest(world: World, go_mirror: Any) -> None:
    root = world.allowed_project("n", '[packages]\ngo = "go:1.24"\n')
    one_error(
        world.run("lock", cwd=root, extra={"ENVR_GO_MIRROR": go_mirror.root}),
        "no version 1.24",
        "the newest are 1.23.2, 1.22.8",
    )


def test_a_real_go_toolchain_realises_and_builds_from_its_store_path(
    world: World, go_mirror: Any, go_build: tuple[str, bytes] | None, tmp_path: Path
) -> None:
    if go_build is None:
        pytest.skip("no Go toolchain on this machine to repack (apt-get install golang-go)")
    version = go_build[0]
    root = world.allowed_project("g", f'[packages]\ngo = "go:{version}"\n')
    env = {
        "ENVR_GO_MIRROR": go_mirror.root,
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPATH": str(tmp_path / "gp"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "0",
    }
    r = world.run("sync", cwd=root, extra=env, timeout=600)
    assert r.returncode == 0, r.stderr
    (root / "hello.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from go") }\n')
    (root / "go.mod").write_text(f"module example.com/hello\n\ngo {'.'.join(version.split('.')[:2])}\n")
    script = "go version; go env GOROOT; go build -o hello . && ./hello"
    r = world.run("exec", str(root), "--", "sh", "-c", script, cwd=root, extra=env, timeout=600)
    assert r.returncode == 0, r.stderr
    said = r.stdout.splitlines()
    assert said[0].startswith(f"go version go{version} ")
    assert said[1].startswith(str(world.store) + "/") and said[1].endswith("/go")
    assert said[-1] == "hello from go"
    assert len(go_mirror.archive_requests()) == 1
