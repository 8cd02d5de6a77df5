"""Every network step has a deadline, and Ctrl-C ends a download promptly (D8).

Servers on 127.0.0.1: one that accepts and never answers, one that trickles its body a byte a second, one that
trickles even its headers. With ENVR_HTTP_TIMEOUT=2 a sync must *finish* (bounded by a generous subprocess
timeout, not a measured duration) with one line naming the URL, and register nothing.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pexpect
import pytest

from shellkit import PROMPT, Session

from .helpers import (
    World,
    assert_no_internal_error,
    assert_one_line_error,
    make_world,
    registered,
    silent_server,
    store_entries,
    trickle_server,
)

FINISH_WITHIN = 30  # generous: with a 2 s timeout envr needs a few seconds, even with retries
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


# Each case that hangs today costs its whole deadline, so the cases of a test run side by side, each in its own
# world against its own server, and report together.
CASES = [
    ("never-answers", ["sync"]),
    ("trickles-body", ["sync"]),
    ("trickles-headers", ["sync"]),
    ("never-answers", ["export", "json"]),  # the prompt's auto-sync meets the same deadline
]


def side_by_side(world: World, n: int, case: Callable[[int, World], str | None]) -> list[str]:
    def one(i: int) -> str | None:
        return case(i, make_world(world.tmp / f"case{i}"))

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [p for p in pool.map(one, range(n)) if p]


def test_a_hostile_server_gives_one_line_naming_the_url_within_the_deadline(world: World) -> None:
    def case(i: int, w: World) -> str | None:
        kind, command = CASES[i]
        what = f"{kind}: envr {' '.join(command)}"
        with hostile(kind) as url:
            project = url_project(w, url)
            w.allow(project)
            try:
                r = w.envr(*command, cwd=project, extra_env={"ENVR_HTTP_TIMEOUT": "2"}, timeout=FINISH_WITHIN)
            except subprocess.TimeoutExpired:
                return f"{what}: still downloading after {FINISH_WITHIN} s with ENVR_HTTP_TIMEOUT=2"
        try:
            if command == ["sync"]:
                assert_one_line_error(r, f"{url}/tool.tar.gz")
            else:
                assert_no_internal_error(r)
            assert registered(w) == [], "something was registered"
        except AssertionError as e:
            return f"{what}: {e}"
        return None

    assert side_by_side(world, len(CASES), case) == []


def test_ctrl_c_ends_a_hanging_download_promptly(world: World) -> None:
    """SIGINT while the download hangs (no ENVR_HTTP_TIMEOUT: Ctrl-C alone must do it), for `envr sync` and
    for the prompt's core (`envr export bash`, which auto-syncs)."""
    commands = [["sync"], ["export", "bash"]]

    def case(i: int, w: World) -> str | None:
        what = f"envr {' '.join(commands[i])}"
        with silent_server() as s:
            project = url_project(w, s.url)
            w.allow(project)
            proc = w.popen(*commands[i], cwd=project)
            try:
                if not s.connected.wait(30):
                    return f"{what}: never connected"
                proc.send_signal(signal.SIGINT)
                try:
                    _out, err = proc.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    return f"{what}: Ctrl-C did not end the download within 15 s"
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        if proc.returncode == 0:
            return f"{what}: exit 0 after Ctrl-C"
        if "Traceback" in err or "internal error" in err:
            return f"{what}: {err}"
        if registered(w) != [] or store_entries(w.store):
            return f"{what}: something half-built stayed in the store"
        return None

    assert side_by_side(world, len(commands), case) == []


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
