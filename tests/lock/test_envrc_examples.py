"""The example projects in envrc/ are documentation: their locks must match and they must realise.

The lock check needs no network, so it runs for every example. Realising the PyPI and npm examples needs
the real registries (marked network); the source build and the local tools dir realise hermetically.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envr_testing import ok, run_envr

EXAMPLES = Path(__file__).resolve().parents[2] / "envrc"
LOCKED = ["python-tools", "node-tools", "source-build", "local-tools"]


@pytest.mark.parametrize("name", LOCKED)
def test_example_lock_matches_its_envr_toml(isolated: Path, name: str) -> None:
    r = ok(run_envr("lock", "--check", cwd=EXAMPLES / name))
    assert "matches" in r.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_source_build_example_builds_and_runs(isolated: Path) -> None:
    d = EXAMPLES / "source-build"
    r = ok(run_envr("exec", "--trust", str(d), "--", "greet", "team", cwd=isolated))
    assert r.stdout == "hello, team, from a source build\n"


def test_local_tools_example_runs_its_script(isolated: Path) -> None:
    d = EXAMPLES / "local-tools"
    r = ok(run_envr("exec", "--trust", str(d), "--", "project-info", cwd=isolated))
    assert r.stdout == "project: local-tools example\n"


@pytest.mark.network
def test_python_tools_example_installs_the_locked_wheels(isolated: Path) -> None:
    d = EXAMPLES / "python-tools"
    r = ok(run_envr("exec", "--trust", str(d), "--", "ruff", "--version", cwd=isolated))
    assert r.stdout.strip() == "ruff 0.6.9"


@pytest.mark.network
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_node_tools_example_installs_the_locked_tree(isolated: Path) -> None:
    d = EXAMPLES / "node-tools"
    r = ok(run_envr("exec", "--trust", str(d), "--", "prettier", "--version", cwd=isolated))
    assert r.stdout.strip() == "3.3.3"
