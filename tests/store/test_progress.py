"""envr sync shows a live download line on a terminal and plain lines everywhere else."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pexpect

from envr.progress import Reporter
from envr_testing import ENVR
from store_helpers import HELLO, Server, run_envr, server, tar_bytes

__all__ = ["server"]


def big_package(isolated: Path, server: Server) -> Path:
    noise = random.Random(7).randbytes(3 << 20)  # incompressible, so the download takes many chunks
    url, sha = server.put("big.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755), "share/blob": (noise, 0o644)}))
    project = isolated / "proj"
    project.mkdir()
    (project / "envr.toml").write_text(f'[packages]\nbig = {{ url = "{url}", sha256 = "{sha}" }}\n')
    assert run_envr("allow", cwd=project).returncode == 0
    return project


def test_sync_on_a_terminal_shows_bytes_and_speed(isolated: Path, server: Server) -> None:
    project = big_package(isolated, server)
    child = pexpect.spawn(ENVR, ["sync"], cwd=str(project), env={**os.environ, "PWD": str(project)}, timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before.decode()
    assert child.exitstatus == 0, out
    assert "\r\x1b[2Kenvr: \u21e3 big " in out  # the live line, redrawn in place
    assert "MiB" in out and "/s" in out
    assert "synced 1 package" in out


def test_sync_into_a_pipe_writes_no_live_line(isolated: Path, server: Server) -> None:
    project = big_package(isolated, server)
    r = run_envr("sync", cwd=project)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "\u21e3" not in r.stderr
    assert "realising big (url)" in r.stderr


def test_reporter_clears_the_live_line_before_a_message() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream, live=True)
    reporter.transfer("tool", 2048, 4096)
    reporter.say("done")
    text = stream.getvalue()
    assert text.startswith("\r\x1b[2Kenvr: \u21e3 tool 2.0 KiB / 4.0 KiB")
    assert text.endswith("\r\x1b[2Kenvr: done\n")
