"""Issue 10 item 5: `envr add` pins what is installed. A universal resolution splits by Python version when
newer releases need a newer Python (`splitpy==1.0 ; python_full_version < '3.12'`, `splitpy==2.0 ; >=
'3.12'`); the version envr writes into envr.toml, the lock and the store path is the one the entry's own
interpreter gets. Served from hand-built wheels in a local find-links dir."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from sources_helpers import World, python_wheel, uv_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    python_wheel(wheels, "splitpy", "1.0", ">=3.8")
    python_wheel(wheels, "splitpy", "2.0", ">=3.12")
    python_wheel(wheels, "onlynew", "3.0", ">=3.99")
    return uv_world(World(tmp_path / "w"), wheels, tmp_path / "uv-cache")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the split is at 3.12: this interpreter must be older")
def test_envr_add_pins_the_version_this_interpreter_installs(world: World) -> None:
    root = world.project("p", "")
    r = world.run("add", "pypi:splitpy", cwd=root)
    assert r.returncode == 0, r.stderr
    assert 'splitpy = "pypi:splitpy==1.0"' in (root / "envr.toml").read_text()
    lock = tomllib.loads((root / "envr.lock").read_text())["packages"]["splitpy"]
    assert lock["version"] == "1.0"
    assert any("python_full_version >= '3.12'" in line for line in lock["requirements"]), lock  # still universal
    assert world.run("exec", str(root), "--", "splitpy", cwd=root).stdout == "splitpy 1.0\n"
    [path] = world.registered()
    assert path.endswith("-splitpy-1.0")
    up = world.run("lock", "--upgrade", cwd=root)
    assert up.returncode == 0, up.stderr


def test_an_entry_for_another_python_pins_that_pythons_version(world: World) -> None:
    root = world.project("p", 'splitpy = { pypi = "splitpy", python = "3.12" }')
    r = world.run("lock", cwd=root)
    assert r.returncode == 0, r.stderr
    assert tomllib.loads((root / "envr.lock").read_text())["packages"]["splitpy"]["version"] == "2.0"


def test_no_version_for_this_python_is_one_line(world: World) -> None:
    root = world.project("p", "")
    r = world.run("add", "pypi:onlynew", cwd=root)
    assert r.returncode != 0
    assert "onlynew" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (root / "envr.lock").exists()
