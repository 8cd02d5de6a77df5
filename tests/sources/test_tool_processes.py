"""The installers envr runs (uv, npm) have deadlines and die with envr (D8, D10 for tools): they get envr's
ENVR_HTTP_TIMEOUT as their own timeout, run as the leader of their own process group, and that group is
killed on Ctrl-C (SIGINT to `envr sync`'s process group, as a terminal sends it) and, on Linux, when envr is
killed with SIGKILL. The slow step is a real sdist build: uv runs its in-tree build backend, which sleeps."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sources_helpers import World, error_lines, pid_alive, silent_port, uv_world, wait_for

BACKEND = """
import os, time
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.environ["ENVR_TEST_PIDFILE"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(os.environ["ENVR_TEST_PIDFILE"] + ".tmp", os.environ["ENVR_TEST_PIDFILE"])
    time.sleep(300)
    raise SystemExit("never")
"""


def slow_sdist(dest: Path) -> None:
    src = dest / "src" / "slowbuild-1.0"
    src.mkdir(parents=True)
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "slowbuild"\nversion = "1.0"\n'
    )
    (src / "backend.py").write_text(BACKEND)
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: slowbuild\nVersion: 1.0\n")
    with tarfile.open(dest / "slowbuild-1.0.tar.gz", "w:gz") as t:
        t.add(src, arcname="slowbuild-1.0")
    shutil.rmtree(dest / "src")


@pytest.fixture
def world(tmp_path: Path) -> World:
    house = tmp_path / "house"
    house.mkdir()
    slow_sdist(house)
    w = uv_world(World(tmp_path / "w"), house, tmp_path / "uv-cache")
    w.env["ENVR_TEST_PIDFILE"] = str(tmp_path / "backend.pid")
    return w


def start_build(world: World) -> tuple[subprocess.Popen[str], int]:
    root = world.project("p", 'slow = "pypi:slowbuild==1.0"')
    proc = world.popen("sync", cwd=root)
    pidfile = Path(world.env["ENVR_TEST_PIDFILE"])
    if not wait_for(pidfile.exists, 120):
        proc.kill()
        pytest.fail(f"the build backend never started: {proc.communicate()[1]}")
    return proc, int(pidfile.read_text())


def test_ctrl_c_stops_envr_sync_and_the_build_it_runs(world: World) -> None:
    proc, backend = start_build(world)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # generous: it must simply end, not wait for the build
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0 and "Traceback" not in err, err
    assert wait_for(lambda: not pid_alive(backend), 30), "the build backend outlived Ctrl-C"
    assert world.registered() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_envr_sync_takes_the_installer_and_its_build_down(world: World) -> None:
    proc, backend = start_build(world)
    proc.kill()  # SIGKILL to envr alone, not its group: nothing of envr's own can run any more
    proc.wait()
    try:
        assert wait_for(lambda: not pid_alive(backend), 30), "the build backend outlived kill -9 of envr"
    finally:
        if pid_alive(backend):
            os.kill(backend, signal.SIGKILL)
    assert world.registered() == []


def test_uv_gets_envrs_http_timeout(world: World) -> None:
    with silent_port() as url:
        world.env.pop("UV_NO_INDEX")
        world.env.update(UV_INDEX_URL=f"{url}/simple", ENVR_HTTP_TIMEOUT="1", UV_HTTP_RETRIES="0")
        root = world.project("p", "")
        # the bound is generous for 1 s, yet below uv's own default read timeout (30 s)
        r = world.run("add", "pypi:nothing-here", cwd=root, timeout=25)
    assert r.returncode != 0
    [line] = error_lines(r.stderr)
    assert "nothing-here" in line and "Traceback" not in r.stderr, line


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_npm_gets_envrs_http_timeout(world: World, tmp_path: Path) -> None:
    with silent_port() as url:
        world.env.update(
            npm_config_registry=f"{url}/",
            npm_config_cache=str(tmp_path / "npm-cache"),
            npm_config_fetch_retries="0",
            ENVR_HTTP_TIMEOUT="1",
        )
        world.env = {k: v for k, v in world.env.items() if k.lower() != "npm_config_fetch_timeout"}
        root = world.project("p", "")
        r = world.run("add", "npm:left-pad@1.3.0", cwd=root, timeout=100)  # npm's own default waits 5 minutes
    assert r.returncode != 0
    [line] = error_lines(r.stderr)
    assert "npm left-pad@1.3.0" in line, line
