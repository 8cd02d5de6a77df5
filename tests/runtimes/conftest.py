"""Fixtures for the runtime tests: the real runtimes repacked once per session, a fresh mirror per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime_kit import NodeMirror, machine_node, node_tarball
from sources_helpers import World, serve


@pytest.fixture(scope="session")
def node_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    found = machine_node()
    if found is None:
        pytest.skip("no node on this machine to repack")
    version, node = found
    return version, node_tarball(version, node, tmp_path_factory.mktemp("node-build"))


@pytest.fixture
def node_mirror(node_build: tuple[str, bytes]) -> Iterator[NodeMirror]:
    with serve() as server:
        yield NodeMirror(server, *node_build)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "w")


@pytest.fixture(scope="session")
def python_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    from runtime_kit import debian_python_version, python_tarball

    version = debian_python_version()
    if version is None:
        pytest.skip("no Debian CPython (/usr/bin/python3.11 with /usr/lib/python3.11) to make a build from")
    return version, python_tarball(tmp_path_factory.mktemp("python-build"))


@pytest.fixture
def python_mirror(python_build: tuple[str, bytes]) -> Iterator[object]:
    from runtime_kit import PythonMirror

    with serve() as server:
        yield PythonMirror(server, *python_build)


@pytest.fixture(scope="session")
def go_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes] | None:
    """Debian's Go toolchain (golang-go), repacked; None where it is not installed (realisation then skips)."""
    from runtime_kit import debian_go, go_tarball

    found = debian_go()
    if found is None:
        return None
    version, root = found
    return version, go_tarball(root, tmp_path_factory.mktemp("go-build"))


@pytest.fixture
def go_mirror(go_build: tuple[str, bytes] | None) -> Iterator[object]:
    from runtime_kit import GoMirror

    with serve() as server:
        yield GoMirror(server, *(go_build or (None, None)))
