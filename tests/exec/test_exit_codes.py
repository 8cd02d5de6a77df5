"""Issue 10 item 10: `envr exec DIR -- CMD` and `envr shell -p SPEC -- CMD` exit as a shell would when CMD cannot
start: 127 when it is not found, 126 when it is found but cannot run; one line saying which. CMD's own status
passes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from envr_testing import run_envr
from envr_world import project, world
from shellkit import Session, Shell


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nA = "1"\n')
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    (root / "not-executable").write_text("#!/bin/sh\necho hi\n")
    (root / "tools" / "bin").mkdir(parents=True)
    (root / "tools" / "bin" / "hi").write_text("#!/bin/sh\necho hi\n")
    (root / "tools" / "bin" / "hi").chmod(0o755)
    return root, env


CASES = [
    ("no-such-command-anywhere", 127, "cannot run 'no-such-command-anywhere': command not found"),
    ("./no/such/path", 127, "cannot run './no/such/path': command not found"),
    ("./not-executable", 126, "cannot run './not-executable': Permission denied"),
    ("./tools", 126, "cannot run './tools': Permission denied"),
]


@pytest.mark.parametrize(("cmd", "code", "line"), CASES)
def test_exec_exits_like_a_shell_when_the_command_cannot_start(
    setup: tuple[Path, dict[str, str]], cmd: str, code: int, line: str
) -> None:
    root, env = setup
    r = run_envr("exec", str(root), "--", cmd, cwd=root, env=env)
    assert (r.returncode, r.stderr) == (code, f"envr: {line}\n")


@pytest.mark.parametrize(("cmd", "code", "line"), CASES)
def test_shell_p_exits_like_a_shell_when_the_command_cannot_start(
    setup: tuple[Path, dict[str, str]], cmd: str, code: int, line: str
) -> None:
    root, env = setup
    r = run_envr("shell", "-p", f"path:{root / 'tools'}", "--", cmd, cwd=root, env=env)
    assert r.returncode == code, r.stderr
    assert r.stderr.splitlines()[-1] == f"envr: {line}"
    assert all(x.startswith("envr: ") for x in r.stderr.splitlines())


def test_the_commands_own_status_still_passes_through(setup: tuple[Path, dict[str, str]]) -> None:
    root, env = setup
    assert run_envr("exec", str(root), "--", "sh", "-c", "exit 127", cwd=root, env=env).returncode == 127
    assert run_envr("exec", str(root), "--", "sh", "-c", "exit 5", cwd=root, env=env).returncode == 5
    r = run_envr("shell", "-p", f"path:{root / 'tools'}", "--", "hi", cwd=root, env=env)
    assert (r.returncode, r.stdout) == (0, "hi\n")


def test_in_a_real_shell_the_status_is_127_like_the_shells_own(session: Session, sh: Shell) -> None:
    root = session.work / "p"
    root.mkdir()
    (root / "envr.toml").write_text('[env]\nA = "1"\n')
    sh.envr(f"allow {sh.q(root)}")

    res = sh.envr(f"exec {sh.q(root)} -- no-such-command-anywhere")

    assert res.out.strip() == "envr: cannot run 'no-such-command-anywhere': command not found"
    assert sh.status() == 127
    sh.run("no-such-command-anywhere")
    assert sh.status() == 127  # what the shell itself says for the same command
