"""Fixtures for the interactive-shell suite; the machinery is in shellkit.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from shellkit import SHELLS, Session, Shell


@pytest.fixture(params=SHELLS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def session(kind: str, tmp_path: Path) -> Iterator[Session]:
    s = Session(kind, tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sh(session: Session) -> Shell:
    """An interactive shell of each kind with the hook installed, sitting in session.work (no project)."""
    return session.shell()
