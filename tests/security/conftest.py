"""Fixtures of the security tests: an isolated envr world (as root, or as an unprivileged uid) and a loopback
file server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import VICTIM_UID, Server, World, as_uid, file_server, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A fresh HOME, XDG dirs, ENVR_STORE and TMPDIR under tmp_path; envr runs as the test's own user."""
    return make_world(tmp_path)


@pytest.fixture
def user_world(tmp_path: Path) -> World:
    """The same, but owned by and run as an unprivileged uid (root ignores modes)."""
    as_uid(VICTIM_UID)  # skips when setpriv is missing
    return make_world(tmp_path, uid=VICTIM_UID)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with file_server(tmp_path / "http-root") as s:
        yield s
