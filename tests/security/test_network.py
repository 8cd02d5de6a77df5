"""Every network step has a deadline, and Ctrl-C ends a download promptly (D8).

Servers on 127.0.0.1: one that accepts and never answers, one that trickles its body a byte a second, one that
trickles even its headers. With ENVR_HTTP_TIMEOUT=2 a sync must *finish* (bounded by a generous subprocess
timeout, not a measured duration) with one line naming the URL, and register nothing.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from shellkit import PROMPT, Session

from .helpers import (
    World,
    assert_no_internal_error,
    assert_one_line_error,
    registered,
    silent_server,
    store_entries,
    trickle_server,
)

FINISH_WITHIN = 45  # generous: with a 2 s timeout envr needs a few seconds, even with retries
ZERO_SHA = "0" * 64


def url_project(world: World, url: str) -> Path:
    return world.project(
        "p", f'[env]\nX = "1"\n[packages]\nt = {{ url = "{url}/tool.tar.gz", sha256 = "{ZERO_SHA}" }}\n'
    )


@contextlib.contextmanager
def hostile(kind: str) -> Iterator[str]:
    if kind == "never-answers":
        with silent_server() as s:
            yield s.url
    else:
        with trickle_server(headers_too=kind == "trickles-headers") as url:
            yield url


def finish(world: World, *args: str, cwd: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return world.envr(*args, cwd=cwd, extra_env=extra, timeout=FINISH_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`envr {' '.join(args)}` was still downloading after {FINISH_WITHIN} s with ENVR_HTTP_TIMEOUT=2")


@pytest.mark.parametrize("kind", ["never-answers", "trickles-body", "trickles-headers"])
def test_sync_from_a_hostile_server_ends_with_one_line_naming_the_url(world: World, kind: str) -> None:
    with hostile(kind) as url:
        project = url_project(world, url)
        world.allow(project)

        r = finish(world, "sync", cwd=project, extra={"ENVR_HTTP_TIMEOUT": "2"})

    assert_one_line_error(r, f"{url}/tool.tar.gz")
    assert registered(world) == []


def test_entering_a_project_whose_download_hangs_still_returns(world: World) -> None:
    """The prompt's auto-sync meets the same deadline; the rest of the project loads or nothing does."""
    with hostile("never-answers") as url:
        project = url_project(world, url)
        world.allow(project)

        r = finish(world, "export", "json", cwd=project, extra={"ENVR_HTTP_TIMEOUT": "2"})

    assert_no_internal_error(r)
    assert registered(world) == []


@pytest.mark.parametrize("command", [["sync"], ["export", "bash"]], ids=["sync", "prompt-core"])
def test_ctrl_c_ends_a_hanging_download_promptly(world: World, command: list[str]) -> None:
    """SIGINT while the download hangs (no ENVR_HTTP_TIMEOUT: Ctrl-C alone must do it)."""
    with silent_server() as s:
        project = url_project(world, s.url)
        world.allow(project)
        proc = world.popen(*command, cwd=project)
        try:
            assert s.connected.wait(30), "envr never connected"
            proc.send_signal(signal.SIGINT)
            try:
                _out, err = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                pytest.fail("Ctrl-C did not end the download within 15 s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    assert proc.returncode != 0
    assert "Traceback" not in err and "internal error" not in err, err
    assert registered(world) == []
    assert [p.name for p in store_entries(world.store)] == [], "nothing half-built may stay"


@pytest.mark.parametrize("shell", ["bash", "fish"])
def test_ctrl_c_at_the_prompt_gives_the_prompt_back(tmp_path: Path, shell: str) -> None:
    """B16: cd into the project; the hook's auto-sync hangs on the download; Ctrl-C must give the prompt back
    soon (bounded by 20 s) with nothing of the project applied."""
    with silent_server() as s:
        session = Session(shell, tmp_path)
        try:
            sh = session.shell()
            root = session.work / "p"
            root.mkdir()
            (root / "envr.toml").write_text(
                f'[env]\nX = "1"\n[packages]\nt = {{ url = "{s.url}/tool.tar.gz", sha256 = "{ZERO_SHA}" }}\n'
            )
            sh.envr(f"allow {sh.q(root)}")
            sh.child.sendline(f"cd {sh.q(root)}")
            assert s.connected.wait(30), "the hook never started the download"
            sh.child.sendintr()
            try:
                sh.child.expect_exact(PROMPT, timeout=20)
            except pexpect.TIMEOUT:
                pytest.fail("no prompt within 20 s of Ctrl-C")
            try:
                assert sh.run("echo alive").out == "alive\n"
                assert sh.var("X") is None
            except pexpect.TIMEOUT:
                pytest.fail("after Ctrl-C the shell did not run a typed command")
        finally:
            session.close()
