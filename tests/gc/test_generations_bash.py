"""A project through five generations in a real hooked bash: rollback and switch show at the next prompt."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from gc_helpers import ok, run_envr, tool_dir, write_project

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _bash(cwd: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVR_") or k == "ENVR_STORE"}
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    env["PS1"] = "PROMPT> "
    env["TERM"] = "dumb"
    bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, cwd=str(cwd), encoding="utf-8", timeout=30)
    bash.expect_exact("PROMPT> ")
    bash.sendline('eval "$(envr hook bash)"')
    bash.expect_exact("PROMPT> ")
    return bash


def _run(bash: Any, line: str, *expect: str) -> str:
    """Send line, wait for each expected text and the next prompt; returns everything printed."""
    bash.sendline(line)
    seen = []
    for text in (*expect, "PROMPT> "):
        bash.expect_exact(text)
        seen.append(f"{bash.before}{bash.after}")
    return "".join(seen)


def _new_version(project: Path, version: str, extra: str = "") -> None:
    time.sleep(0.01)
    write_project(project, version, extra, allow=False)


def test_five_generations_rollback_and_switch_at_the_next_prompt(isolated: Path) -> None:
    project = isolated / "proj"
    write_project(project, "1", allow=False)
    bash = _bash(isolated)
    try:
        _run(bash, f"cd {project} && envr allow", "allowed")
        _run(bash, "tool", "tool 1")
        for v in ("2", "3", "4", "5"):
            _new_version(project, v, '[env]\nGREETING = "hi"\n' if v == "4" else "")
            _run(bash, "envr allow", "allowed")
            _run(bash, "tool", f"tool {v}")
        listing = _run(bash, "envr generations", "(current)")
        assert "+tool 5  -tool 4" in listing and "+GREETING" in listing
        _run(bash, "echo GREETING=${GREETING-unset}", "GREETING=unset")  # 5 dropped it again

        out = _run(bash, "envr rollback", "rolled back to generation 4")
        assert "pinned to older generation 4 (latest 5)" in out  # the load message at the next prompt
        _run(bash, "tool", "tool 4")
        _run(bash, "echo GREETING=${GREETING-unset}", "GREETING=hi")
        _run(bash, "envr status", "pinned older generation 4 (latest 5)")

        _run(bash, "envr switch-generation 2", "switched to generation 2")
        _run(bash, "tool", "tool 2")
        _run(bash, "envr switch-generation 9; echo rc=$?", "has no generation 9", "rc=1")
        _run(bash, "tool", "tool 2")  # nothing changed
        _run(bash, "envr generations --delete 2; echo rc=$?", "cannot be deleted", "rc=1")
        _run(bash, "envr rollback", "generation 1")
        _run(bash, "tool", "tool 1")
        _run(bash, "envr rollback; echo rc=$?", "nothing to roll back to", "rc=1")

        _run(bash, "envr sync", "unpinned")
        _run(bash, "tool", "tool 5")
        _run(bash, "envr generations --keep-last 2", "deleted 3 generations")
        _run(bash, "envr switch-generation 2; echo rc=$?", "has no generation 2", "rc=1")
        _run(bash, "cd .. && type tool || echo GONE", "GONE")
    finally:
        bash.sendline("exit")
        bash.close(force=True)


def test_the_profile_is_on_path_after_project_entries_and_a_rollback_shows_at_the_next_prompt(
    isolated: Path,
) -> None:
    hello1 = tool_dir(isolated / "hello1" / "bin", "hello", "1").parent  # path: DIR exposes DIR/bin/*
    hello2 = tool_dir(isolated / "hello2" / "bin", "hello", "2").parent
    ok("profile", "install", f"path:{hello1}", cwd=isolated)
    project = write_project(isolated / "proj", "1")
    tool_dir(isolated / "other" / "bin", "tool", "profile")
    ok("profile", "install", f"path:{isolated / 'other'}", cwd=isolated)
    bash = _bash(isolated)
    try:
        _run(bash, "hello", "hello 1")
        ok("profile", "install", f"hello1=path:{hello2}", cwd=isolated)  # same name: replaced
        _run(bash, "hello", "hello 2")  # no reload needed: PATH names the profile's current link
        _run(bash, "tool", "tool profile")
        _run(bash, f"cd {project}", "loaded")
        _run(bash, "tool", "tool 1")  # the project's entry comes before the profile's
        _run(bash, "hello", "hello 2")
        ok("profile", "rollback", cwd=isolated)
        _run(bash, "hello", "hello 1")
        _run(bash, "cd ..", "unloaded")
        _run(bash, "tool", "tool profile")
        out = _run(bash, "echo P=$PATH", "P=")
        assert out.split("P=")[-1].count("profile/current/bin") == 1  # once, however many reloads
    finally:
        bash.sendline("exit")
        bash.close(force=True)
    assert run_envr("profile", "list", cwd=isolated).stdout.count("path:") == 2
