"""Ctrl-C while the prompt realises a project's packages leaves the shell exactly as it was."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

SHELLS = {
    "bash": (
        ["--norc", "--noprofile", "-i"],
        'eval "$(envr hook bash)"',
        'echo "[${GREETING-unset}|${ENVR_ROOT-unset}]"',
    ),
    "zsh": (["-f", "-i"], 'eval "$(envr hook zsh)"', 'echo "[${GREETING-unset}|${ENVR_ROOT-unset}]"'),
    "fish": (
        ["--no-config", "-i"],
        "function fish_prompt; printf 'PROMPT> '; end; set -g fish_greeting; envr hook fish | source",
        'echo "["(set -q GREETING; and echo $GREETING; or echo unset)"|"(set -q ENVR_ROOT; and echo set; or echo unset)"]"',
    ),
}


@pytest.mark.parametrize("kind", sorted(SHELLS))
def test_ctrl_c_during_auto_sync_changes_nothing_and_a_later_sync_loads(isolated: Path, kind: str) -> None:
    if shutil.which(kind) is None:
        pytest.skip(f"needs {kind}")
    args, install, show = SHELLS[kind]
    project = isolated / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "hello").write_text("#!/bin/sh\necho hello from the slow build\n")
    started = isolated / "build-started"
    (project / "envr.toml").write_text(
        f'[env]\nGREETING = "hi"\n[packages]\nslow = {{ path = "./src", build = "touch {started}; sleep 600" }}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVR_") or k == "ENVR_STORE"}
    env.update(PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin", PS1="PROMPT> ", PROMPT="PROMPT> ", TERM="dumb")
    sh = pexpect.spawn(kind, args, env=env, cwd=str(isolated), encoding="utf-8", timeout=60)
    try:
        sh.sendline(install)
        sh.expect_exact("PROMPT> ")
        sh.sendline("envr allow proj")
        sh.expect_exact("allowed")
        sh.expect_exact("PROMPT> ")
        sh.sendline("cd proj")
        sh.expect_exact("realising slow")
        while not started.exists():  # the build script runs: interrupt it mid-build
            sh.expect([pexpect.TIMEOUT], timeout=0.05)
        sh.sendintr()
        # bash and zsh keep what the interrupted core printed; fish cancels its prompt handler, and the core's
        # next run remembers the interrupt instead of starting the build again.
        sh.expect_exact("interrupted before slow were realised, so nothing changed")
        sh.expect_exact("PROMPT> ")
        sh.sendline(show)
        sh.expect_exact("[unset|unset]")
        sh.expect_exact("PROMPT> ")
        sh.sendline("envr store ls | grep -c slow")
        sh.expect_exact("0")  # nothing half-built is registered
        sh.expect_exact("PROMPT> ")
        assert "realising" not in (sh.before or "")  # and no prompt since restarted the build
        (project / "envr.toml").write_text(
            '[env]\nGREETING = "hi"\n[packages]\nslow = { path = "./src", build = "mkdir -p $out/bin && '
            'cp hello $out/bin/ && chmod +x $out/bin/hello" }\n'
        )
        sh.sendline("envr allow >/dev/null 2>&1; envr sync >/dev/null 2>&1; true")
        sh.expect_exact("PROMPT> ")
        sh.sendline("hello")
        sh.expect_exact("hello from the slow build")
        sh.expect_exact("PROMPT> ")
        sh.sendline(show)
        sh.expect_exact("[hi|")
    finally:
        sh.close(force=True)
