"""Shared fixtures: every test gets its own HOME and XDG dirs, so approvals and stamps never leak; real shells
(tests/shellkit.py) for any test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shellkit import SHELLS, Session, Shell


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME and every XDG dir into tmp_path; returns tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CONFIG_HOME", "config"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("ENVR_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("ENVR_STATE", raising=False)
    monkeypatch.delenv("ENVR_ROOT", raising=False)
    monkeypatch.delenv("ENVR_QUIET", raising=False)
    yield tmp_path


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
