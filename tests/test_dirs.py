"""envr's own XDG lookup must agree with platformdirs, which it replaces on the prompt's lean path."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from envr import dirs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the hand-written lookup is Linux only")
@pytest.mark.parametrize("xdg", [True, False])
def test_matches_platformdirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: bool) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        if xdg:
            monkeypatch.setenv(var, str(tmp_path / var.lower()))
        else:
            monkeypatch.delenv(var, raising=False)
    assert dirs.data_dir() == platformdirs.user_data_dir("envr", appauthor=False)
    assert dirs.cache_dir() == platformdirs.user_cache_dir("envr", appauthor=False)
    assert dirs.state_dir() == platformdirs.user_state_dir("envr", appauthor=False)
