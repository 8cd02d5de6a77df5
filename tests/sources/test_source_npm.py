"""The npm source: validation, versions, and real `npm install -g --prefix` realises from an `npm pack` tarball."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from envr.errors import EnvrError, ProjectFileError
from envr.store.sources import source_for
from envr.store.sources.base import PackageSpec, RealiseContext
from envr.store.sources.npm import SOURCE, split_spec

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="node and npm are not installed"
)


def spec(entry: dict[str, Any], root: Path | str = "/proj") -> PackageSpec:
    return PackageSpec("tool", "npm", entry, str(root), "/proj/envr.toml", 4)


@pytest.fixture(scope="session")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npm pack` of a tiny package with one bin; lives in a project root as vendor/envr-npm-demo-1.2.3.tgz."""
    base = tmp_path_factory.mktemp("npm")
    src = base / "src"
    src.mkdir()
    (src / "package.json").write_text(
        json.dumps(
            {
                "name": "envr-npm-demo",
                "version": "1.2.3",
                "bin": {"envr-npm-demo": "cli.js"},
                "license": "MIT",
            }
        )
    )
    (src / "cli.js").write_text("#!/usr/bin/env node\nconsole.log('hello from npm', __dirname);\n")
    (src / "cli.js").chmod(0o755)
    vendor = base / "project" / "vendor"
    vendor.mkdir(parents=True)
    env = {**os.environ, "npm_config_cache": str(base / "npm-cache")}
    subprocess.run(
        ["npm", "pack", "--pack-destination", str(vendor), str(src)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    made = vendor / "envr-npm-demo-1.2.3.tgz"
    assert made.is_file()
    return made


def npm_env(tmp_path: Path) -> dict[str, str]:
    # An unreachable registry proves the tarball install needs no network.
    return {**os.environ, "npm_config_cache": str(tmp_path / "npm-cache"), "npm_config_registry": "http://127.0.0.1:9/"}


def test_source_for_finds_it() -> None:
    assert source_for("npm") is SOURCE


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("prettier@3.3.3", ("prettier", "3.3.3")),
        ("@scope/pkg@1.2.3", ("@scope/pkg", "1.2.3")),
        ("@scope/pkg", ("@scope/pkg", None)),
        ("prettier", ("prettier", None)),
    ],
)
def test_split_spec(value: str, parts: tuple[str, str | None]) -> None:
    assert split_spec(value) == parts


@pytest.mark.parametrize(
    "value",
    [
        "prettier@3.3.3",
        "@angular/cli@18.2.8",
        "cowsay",
        "typescript@^5",
        "x@latest",
        "./vendor/pkg-1.0.0.tgz",
        "../pkg.tar.gz",
        "/abs/pkg-1.0.0.tgz",
    ],
)
def test_validate_accepts(value: str) -> None:
    SOURCE.validate(spec({"npm": value}))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "prettier@",
        "pretty printer@1.0.0",
        "github:user/repo",
        "@scope@1.0.0",
        "@/pkg@1.0",
        ".hidden@1.0.0",
        "pkg@1.0 2.0",
        "./some-folder",
        "https://example.com/x.git",
    ],
)
def test_validate_rejects(value: str) -> None:
    with pytest.raises(ProjectFileError) as err:
        SOURCE.validate(spec({"npm": value}))
    assert str(err.value).startswith("/proj/envr.toml:4: ")
    assert '"npm"' in str(err.value)


def test_validate_rejects_non_string_and_unknown_keys() -> None:
    with pytest.raises(ProjectFileError, match='"npm"'):
        SOURCE.validate(spec({"npm": 3}))
    with pytest.raises(ProjectFileError, match="unknown key 'version'"):
        SOURCE.validate(spec({"npm": "prettier", "version": "3.3.3"}))


@pytest.mark.parametrize(
    ("value", "version"),
    [
        ("prettier@3.3.3", "3.3.3"),
        ("@scope/pkg@1.2.3-beta.1", "1.2.3-beta.1"),
        ("prettier@^3.3.3", "unpinned"),
        ("prettier@latest", "unpinned"),
        ("prettier", "unpinned"),
    ],
)
def test_version(value: str, version: str) -> None:
    assert SOURCE.version(spec({"npm": value})) == version


@needs_node
def test_tarball_version_and_recipe(tarball: Path) -> None:
    root = tarball.parent.parent
    s = spec({"npm": "./vendor/envr-npm-demo-1.2.3.tgz"}, root)
    assert SOURCE.version(s) == "1.2.3"
    recipe = SOURCE.recipe(s)
    assert recipe["kind"] == "npm"
    assert recipe["name"] == "envr-npm-demo"
    assert recipe["version"] == "1.2.3"
    assert len(recipe["tarball_sha256"]) == 64
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    assert recipe["node_major"] == node.strip().lstrip("v").split(".")[0]
    assert SOURCE.recipe(spec({"npm": "@scope/pkg@1.2.3"})) == {
        "kind": "npm",
        "name": "@scope/pkg",
        "version": "1.2.3",
        "node_major": recipe["node_major"],
        # no node runtime in the project: the node on PATH (outside the store), by real path, is the recipe's
        "node": recipe["node"],
        "external": [recipe["node"]],
    }
    assert recipe["node"] == os.path.realpath(shutil.which("node") or "")


def test_missing_tarball_is_a_project_file_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="does not exist"):
        SOURCE.version(spec({"npm": "./nope-1.0.0.tgz"}, tmp_path))
    (tmp_path / "junk.tgz").write_bytes(b"not a tarball")
    with pytest.raises(ProjectFileError, match="npm pack"):
        SOURCE.version(spec({"npm": "./junk.tgz"}, tmp_path))


@needs_node
def test_realise_tarball_relocates_and_runs(tmp_path: Path, tarball: Path) -> None:
    root = tarball.parent.parent
    s = spec({"npm": "./vendor/envr-npm-demo-1.2.3.tgz"}, root)
    SOURCE.validate(s)
    out = tmp_path / "build" / "out"
    out.mkdir(parents=True)
    SOURCE.realise(s, out, RealiseContext(tmp_path / "logs" / "npm.log", environ=npm_env(tmp_path)))
    bins = SOURCE.bins(s, out)
    assert bins == ["bin/envr-npm-demo"]
    link = out / "bin" / "envr-npm-demo"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))  # no embedded prefix
    moved = tmp_path / "store" / "xyz-envr-npm-demo-1.2.3"
    moved.parent.mkdir()
    out.rename(moved)
    assert SOURCE.bins(s, moved) == bins
    node_dir = str(Path(shutil.which("node") or "node").parent)
    proc = subprocess.run(
        [str(moved / "bin" / "envr-npm-demo")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": node_dir, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hello from npm ")
    assert str(moved) in proc.stdout


@needs_node
def test_realise_failure_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "npm.log"
    with pytest.raises(EnvrError) as err:
        SOURCE.realise(
            spec({"npm": "envr-surely-missing@1.0.0"}),
            out,
            RealiseContext(log, environ={**npm_env(tmp_path), "npm_config_fetch_retries": "0"}),
        )
    message = str(err.value)
    assert "\n" not in message
    assert "envr-surely-missing@1.0.0" in message
    assert str(log) in message


def test_missing_node_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EnvrError) as err:
        SOURCE.realise(
            spec({"npm": "prettier@3.3.3"}),
            out,
            RealiseContext(tmp_path / "log", environ={"PATH": str(empty), "HOME": str(tmp_path)}),
        )
    assert "install Node.js (which includes npm), e.g. apt-get install nodejs npm" in str(err.value)
    assert "\n" not in str(err.value)
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(EnvrError, match="apt-get install nodejs npm"):
        SOURCE.recipe(spec({"npm": "prettier@3.3.3"}))


@pytest.mark.network
@needs_node
def test_real_npm_registry(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    s = spec({"npm": "cowsay@1.6.0"})
    env = {**os.environ, "npm_config_cache": str(tmp_path / "npm-cache")}
    SOURCE.realise(s, out, RealiseContext(tmp_path / "npm.log", environ=env))
    assert "bin/cowsay" in SOURCE.bins(s, out)
    proc = subprocess.run([str(out / "bin" / "cowsay"), "moo"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "moo" in proc.stdout


def _fake_node(root: Path, header: str | None) -> dict[str, str]:
    """An install prefix with bin/node (a script that leaves a mark when it runs), bin/npm and, optionally,
    include/node/node_version.h as node's release archives ship it."""
    (root / "bin").mkdir(parents=True)
    mark = root / "ran"
    (root / "bin" / "node").write_text(f"#!/bin/sh\ntouch {mark}\necho v18.20.1\n")
    (root / "bin" / "npm").write_text("#!/bin/sh\nexit 0\n")
    for exe in ("node", "npm"):
        (root / "bin" / exe).chmod(0o755)
    if header is not None:
        (root / "include" / "node").mkdir(parents=True)
        (root / "include" / "node" / "node_version.h").write_text(header)
    return {"PATH": f"{root / 'bin'}:/usr/bin:/bin"}


def test_node_major_is_read_from_the_release_header_without_running_node(tmp_path: Path) -> None:
    from envr.store.sources.npm import node_major

    header = "#ifndef SRC_NODE_VERSION_H_\n#define NODE_MAJOR_VERSION 22\n#define NODE_MINOR_VERSION 11\n"
    assert node_major(_fake_node(tmp_path / "with", header)) == "22"
    assert not (tmp_path / "with" / "ran").exists()
    # no header (or one that does not say): node is asked
    assert node_major(_fake_node(tmp_path / "without", None)) == "18"
    assert (tmp_path / "without" / "ran").exists()
    assert node_major(_fake_node(tmp_path / "odd", "#define NODE_MAJOR_VERSION x\n")) == "18"
