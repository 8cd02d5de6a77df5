"""Shared fixtures: every test gets its own HOME and XDG dirs, so approvals and stamps never leak."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ENVR = str(Path(sys.executable).parent / "envr")


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


def run_envr(*args: str, cwd: Path | str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed envr console script as a user would, with PWD matching cwd."""
    full = dict(os.environ if env is None else env)
    full["PWD"] = str(cwd)
    return subprocess.run([ENVR, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60)
