"""Fixtures for lock tests: a session wheelhouse (hand-made wheels) shared by every test."""

from __future__ import annotations

from pathlib import Path

import pytest

from envr_testing import make_wheelhouse


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_wheelhouse(tmp_path_factory.mktemp("lock-wheelhouse"))
