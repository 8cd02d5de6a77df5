"""Ctrl-C while the prompt realises a project's packages leaves the shell exactly as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pexpect
import pytest

from envr_testing import ENVR
from shellkit import PROMPT, SHELLS, Session


@pytest.mark.parametrize("kind", SHELLS)
def test_ctrl_c_during_auto_sync_changes_nothing_and_a_later_sync_loads(isolated: Path, kind: str) -> None:
    if shutil.which(kind) is None:
        pytest.skip(f"needs {kind}")
    project = isolated / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "hello").write_text("#!/bin/sh\necho hello from the slow build\n")
    started = isolated / "build-started"
    (project / "envr.toml").write_text(
        f'[env]\nGREETING = "hi"\n[packages]\nslow = {{ path = "./src", build = "touch {started}; sleep 600" }}\n'
    )
    session = Session.following_environ(kind, isolated)
    try:
        sh = session.shell()
        assert "allowed" in sh.run(f"envr allow {sh.q(project)}").out
        # The cd's prompt blocks in the build: drive the terminal by hand until the next prompt.
        sh.child.sendline(f"cd {sh.q(project)}")
        sh.child.expect_exact("realising slow", timeout=60)
        while not started.exists():  # the build script runs: interrupt it mid-build
            sh.child.expect([pexpect.TIMEOUT], timeout=0.05)
        sh.child.sendintr()
        # bash and zsh keep what the interrupted core printed; fish cancels its prompt handler, and the core's
        # next run remembers the interrupt instead of starting the build again.
        sh.child.expect_exact("interrupted before slow was realised, so nothing changed", timeout=60)
        sh.child.expect_exact(PROMPT)
        assert sh.var("GREETING") is None and sh.var("ENVR_ROOT") is None
        res = sh.run("envr store ls | grep -c slow")
        assert res.out == "0\n"  # nothing half-built is registered
        assert not any("realising" in line for line in res.hook)  # and no prompt since restarted the build
        (project / "envr.toml").write_text(
            '[env]\nGREETING = "hi"\n[packages]\nslow = { path = "./src", build = "mkdir -p $out/bin && '
            'cp hello $out/bin/ && chmod +x $out/bin/hello" }\n'
        )
        sh.run("envr allow >/dev/null 2>&1; envr sync >/dev/null 2>&1; true")
        assert sh.run("hello").out == "hello from the slow build\n"
        assert sh.var("GREETING") == "hi"
    finally:
        session.close()


def test_ctrl_c_during_envr_sync_says_so_and_exits_130(isolated: Path) -> None:
    """A download that trickles on, and the user presses Ctrl-C: exit 130 at once with one line (a new user's
    trial saw exit 130 and nothing said), and nothing left in the store."""
    from sources_helpers import World, serve

    world = World(isolated / "w")
    with serve() as server:
        url = server.put("big.tar.gz", b"x" * 200_000, "trickle")
        root = world.allowed_project("p", f'[packages]\nbig = {{ url = "{url}", sha256 = "{"0" * 64}" }}\n')
        env = {**world.env, "PWD": str(root)}
        child = pexpect.spawn(ENVR, ["sync"], cwd=str(root), env=env, encoding="utf-8")
        child.expect_exact("realising big", timeout=60)
        child.expect([pexpect.TIMEOUT], timeout=1)
        child.sendintr()
        child.expect(pexpect.EOF, timeout=10)
        child.close()
        assert child.exitstatus == 130
        assert "interrupted" in (child.before or ""), child.before
    assert [n for n in world.registered() if "big" in n] == []
