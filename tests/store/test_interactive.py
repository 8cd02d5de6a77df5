"""A user's view: cd into a project with a package in a real interactive bash, and run the package's tool."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from store_helpers import HELLO, Server, server, tar_bytes

__all__ = ["server"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_cd_into_a_project_puts_its_package_on_path_and_leaving_removes_it(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    project = isolated / "proj"
    project.mkdir()
    (project / "envr.toml").write_text(f'version = 1\n[packages]\nhello = {{ url = "{url}", sha256 = "{sha}" }}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVR_") or k == "ENVR_STORE"}
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    env["PS1"] = "PROMPT> "
    env["TERM"] = "dumb"
    bash = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], env=env, cwd=str(isolated), encoding="utf-8", timeout=60
    )
    try:
        bash.expect_exact("PROMPT> ")
        bash.sendline('eval "$(envr hook bash)"')
        bash.expect_exact("PROMPT> ")
        bash.sendline(f"cd {project} && envr allow")
        bash.expect_exact("allowed")
        bash.expect_exact("PROMPT> ")
        bash.sendline("hello")  # the next prompt's hook loaded the project (auto-syncing the package) first
        bash.expect_exact("hello from the store")
        bash.expect_exact("PROMPT> ")
        bash.sendline("cd .. && type hello || echo GONE")
        bash.expect_exact("GONE")
        bash.expect_exact("PROMPT> ")
    finally:
        bash.sendline("exit")
        bash.close(force=True)
