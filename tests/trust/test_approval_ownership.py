"""D18: an approval record counts only if it and the approvals dir are the user's own and writable by nobody
else, as ssh treats its config. Another local user who can write into a careless approvals dir cannot forge an
approval; the project is then "not allowed", with one line naming the path and the fix.

The attacker is another uid (setpriv), since CI runs as root and root ignores modes; envr itself runs as the
test's user, the victim.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from envr_testing import run_envr
from envr_world import project, world

ATTACKER = 4242


def traversable(path: Path) -> None:
    """Let other uids reach path: o+x on every directory from / down to it."""
    for d in [*reversed(path.parents), path]:
        mode = stat.S_IMODE(d.stat().st_mode)
        if not mode & 0o001:
            d.chmod(mode | 0o001)


def as_attacker(script: str) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    argv = ["setpriv", f"--reuid={ATTACKER}", f"--regid={ATTACKER}", "--clear-groups", "sh", "-c", script]
    subprocess.run(argv, check=True, timeout=30)


def record_for(env: dict[str, str], file: Path) -> tuple[Path, str]:
    """Where file's approval record lives in env's data dir, and the hash an approval of its content names."""
    from unittest import mock

    from envr.trust import approvals

    with mock.patch.dict(os.environ, env):
        return Path(approvals.approval_file(str(file))), approvals.content_hash(str(file))


@pytest.fixture
def forged(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """A never-allowed project, and an approval for it that the attacker wrote into a world-writable dir."""
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nFORGED = "yes"\n')
    record, digest = record_for(env, root / "envr.toml")
    record.parent.mkdir(parents=True)
    record.parent.chmod(0o777)
    traversable(record.parent)
    as_attacker(f"printf '%s\\n%s\\n' {digest} {root}/envr.toml > {record}")
    assert record.stat().st_uid == ATTACKER
    return env, root, record


def test_an_approval_another_user_wrote_is_not_trusted(forged: tuple[dict[str, str], Path, Path]) -> None:
    env, root, record = forged

    r = run_envr("export", "json", cwd=root, env=env)

    assert r.returncode == 3 and "FORGED" not in r.stdout
    (line,) = r.stderr.splitlines()
    assert "is not allowed" in line and "writable by others" in line, line
    assert f"chmod go-w {record.parent}" in line


def test_with_the_dir_fixed_the_other_users_record_is_still_not_trusted(
    forged: tuple[dict[str, str], Path, Path],
) -> None:
    env, root, record = forged
    record.parent.chmod(0o755)

    r = run_envr("export", "json", cwd=root, env=env)

    assert r.returncode == 3 and "FORGED" not in r.stdout
    assert f"{record} is owned by uid {ATTACKER}, not by you; remove it" in r.stderr


def test_allow_refuses_to_write_into_an_unsafe_dir_and_says_the_fix(
    forged: tuple[dict[str, str], Path, Path],
) -> None:
    env, root, record = forged
    before = record.read_bytes()

    r = run_envr("allow", str(root), cwd=root, env=env)

    assert r.returncode == 1 and record.read_bytes() == before
    assert r.stderr == (
        f"envr: cannot record an approval: {record.parent} is writable by others, so approvals could be forged; "
        f"run chmod go-w {record.parent}\n"
    )
    record.parent.chmod(0o755)
    record.unlink()
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    assert "yes" in run_envr("export", "json", cwd=root, env=env).stdout


def test_a_writable_dir_above_the_approvals_is_refused_at_allow(tmp_path: Path) -> None:
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nA = "1"\n')
    data = Path(env["XDG_DATA_HOME"]) / "envr"
    data.mkdir(parents=True)
    data.chmod(0o777)

    r = run_envr("allow", str(root), cwd=root, env=env)

    assert r.returncode == 1 and f"{data} is writable by others" in r.stderr and f"chmod go-w {data}" in r.stderr
    data.chmod(0o755)
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0


def test_new_approvals_are_private(tmp_path: Path) -> None:
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nA = "1"\n')
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    record, _ = record_for(env, root / "envr.toml")
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700
    assert not record.stat().st_mode & 0o022


@pytest.mark.skipif(os.geteuid() != 0, reason="uses root's own private group (gid 0, named root, no members)")
def test_a_group_writable_dir_of_the_users_private_group_is_fine(tmp_path: Path) -> None:
    """umask 002 with user-private groups (Debian, Ubuntu) makes dirs group-writable; the group is the user."""
    import grp

    if grp.getgrgid(0).gr_mem or grp.getgrgid(0).gr_name != "root":
        pytest.skip("root's group has members here")
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nA = "1"\n')
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    record, _ = record_for(env, root / "envr.toml")
    record.parent.chmod(0o770)

    r = run_envr("export", "json", cwd=root, env=env)

    assert r.returncode == 0 and '"A": "1"' in r.stdout, r.stderr


def test_a_symlinked_record_is_not_followed(tmp_path: Path) -> None:
    env = world(tmp_path)
    a = project(tmp_path, '[env]\nA = "1"\n')
    assert run_envr("allow", str(a), cwd=a, env=env).returncode == 0
    b = tmp_path / "b"
    b.mkdir()
    (b / "envr.toml").write_text('[env]\nA = "1"\n')  # the same content at another path, never allowed
    record_a, _ = record_for(env, a / "envr.toml")
    record_b, _ = record_for(env, b / "envr.toml")
    record_b.symlink_to(record_a)

    r = run_envr("export", "json", cwd=b, env=env)

    assert r.returncode == 3 and '"A"' not in r.stdout
    assert str(record_b) in r.stderr and "remove it" in r.stderr
