"""Issue 10 item 12: long PyPI and npm installs are not silent. On a terminal every running package has a live
line with its phase, elapsed seconds and bytes where known; off a terminal only the start and finish lines
are written, with no carriage returns. progress.py stays cheap for the prompt, which imports it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from envr.progress import Reporter
from sources_helpers import ENVR, World, python_wheel, uv_world


def test_each_running_package_has_its_own_line_and_a_message_clears_the_block() -> None:
    stream = io.StringIO()
    r = Reporter(stream, live=True)
    r.phase("ruff", "downloading ruff", None, 11 << 20)
    r.phase("black", "resolving")
    text = stream.getvalue()
    assert "envr: \u22ef ruff: downloading ruff 11.0 MiB (0s)" in text
    assert text.endswith(
        "\r\x1b[2K" + "\x1b[1A\x1b[2K" * 0 + "envr: \u22ef ruff: downloading ruff 11.0 MiB (0s)\n"
        "\x1b[2Kenvr: \u22ef black: resolving (0s)"
    )
    r.say("realised ruff in 1.0s")
    assert stream.getvalue().endswith("\r\x1b[2K\x1b[1A\x1b[2Kenvr: realised ruff in 1.0s\n")
    r.phase("ruff", None)
    r.phase("black", None)
    assert stream.getvalue().endswith("\r\x1b[2K")  # the last line went: nothing is left on screen


def test_off_a_terminal_phases_write_nothing() -> None:
    stream = io.StringIO()
    r = Reporter(stream, live=False)
    r.phase("ruff", "installing")
    r.transfer("jq", 10, 100)
    r.say("done")
    assert stream.getvalue() == "envr: done\n"


def test_the_prompt_imports_progress_without_threading_or_typing() -> None:
    code = "import sys, envr.progress; print('threading' in sys.modules, 'typing' in sys.modules)"
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["False", "False"], r.stderr


@pytest.fixture
def world(tmp_path: Path) -> World:
    house = tmp_path / "house"
    house.mkdir()
    python_wheel(house, "livetool", "1.0")
    return uv_world(World(tmp_path / "w"), house, tmp_path / "uv-cache")


def test_a_pypi_install_on_a_terminal_shows_its_live_line(world: World) -> None:
    import pexpect

    root = world.project("p", 'livetool = "pypi:livetool==1.0"')
    child = pexpect.spawn(ENVR, ["sync"], cwd=str(root), env={**world.env, "PWD": str(root)}, timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before.decode()
    assert child.exitstatus == 0, out
    assert "envr: \u22ef livetool: creating venv" in out
    assert "envr: \u22ef livetool: resolving" in out
    assert "realised livetool in" in out


def test_a_pypi_install_into_a_pipe_has_plain_lines_only(world: World) -> None:
    root = world.project("p", 'livetool = "pypi:livetool==1.0"')
    r = world.run("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "\u22ef" not in r.stderr and "\x1b" not in r.stderr
    assert [line.split()[1] for line in r.stderr.splitlines()] == ["realising", "realised", "synced"]
