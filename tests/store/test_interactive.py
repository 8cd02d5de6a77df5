"""A user's view: cd into a project with a package in a real interactive bash, and run the package's tool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shellkit import Session
from store_helpers import HELLO, Server, server, tar_bytes

__all__ = ["server"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_cd_into_a_project_puts_its_package_on_path_and_leaving_removes_it(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    project = isolated / "proj"
    project.mkdir()
    (project / "envr.toml").write_text(f'version = 1\n[packages]\nhello = {{ url = "{url}", sha256 = "{sha}" }}\n')
    session = Session.following_environ("bash", isolated)
    try:
        bash = session.shell()
        res = bash.run(f"cd {bash.q(project)} && envr allow")
        assert "allowed" in res.out, res
        assert any("loaded" in line for line in res.hook), res  # the next prompt synced the package and loaded
        assert bash.run("hello").out == "hello from the store\n"
        assert any("unloaded" in line for line in bash.cd("..").hook)
        assert "GONE" in bash.run("type hello || echo GONE").out
    finally:
        session.close()
