"""`envr outdated`: what `envr lock --upgrade` would change, resolved but never written; refused unless allowed."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import offline_env, ok, project, run_envr, snapshot, wheelhouse
from wheelmaker import make_wheel

TEXT = """\
[packages]
mytools = { path = "./tools" }
daytool = "pypi:daytool==1.0"
"""


def locked_project(isolated: Path) -> tuple[Path, Path, dict[str, str]]:
    wheels = wheelhouse(isolated / "wheels")
    env = offline_env(wheels, isolated)
    p = project(isolated / "p", TEXT)
    ok(run_envr("allow", cwd=p, env=env))
    ok(run_envr("lock", cwd=p, env=env))
    return p, wheels, env


def test_outdated_exit_0_when_nothing_would_change_and_1_with_the_changes_writing_nothing(isolated: Path) -> None:
    p, wheels, env = locked_project(isolated)
    r = ok(run_envr("outdated", cwd=p, env=env))
    assert r.stdout == "" and "up to date" in r.stderr

    make_wheel(wheels, "daydep", "1.1", {"daydep.py": "VERSION = '1.1'\n"})  # a new release of a dependency
    lock_before = (p / "envr.lock").read_bytes()
    before = {k: v for k, v in snapshot(isolated).items() if not k.startswith(("uv-cache", "cache"))}
    r = run_envr("outdated", cwd=p, env=env)
    assert r.returncode == 1, r
    assert r.stdout == "~ daytool 1.0 (dependencies or hashes changed)\n"
    assert "1 package would change; envr lock --upgrade" in r.stderr
    after = {k: v for k, v in snapshot(isolated).items() if not k.startswith(("uv-cache", "cache"))}
    assert after == before and (p / "envr.lock").read_bytes() == lock_before  # lock, approvals, store untouched

    # exactly what lock --upgrade then does
    r = ok(run_envr("lock", "--upgrade", cwd=p, env=env))
    assert r.stdout == "~ daytool 1.0 (dependencies or hashes changed)\n"
    assert ok(run_envr("outdated", "daytool", cwd=p, env=env)).stdout == ""


def test_outdated_shows_a_newer_version_and_packages_new_to_the_lock(isolated: Path) -> None:
    p, wheels, env = locked_project(isolated)
    make_wheel(
        wheels,
        "daytool",
        "1.1",
        {"daytool.py": "def main():\n    print('1.1')\n"},
        "[console_scripts]\ndaytool = daytool:main\n",
        requires=("daydep>=1",),
    )
    (p / "envr.toml").write_text(TEXT.replace("daytool==1.0", "daytool>=1.0") + 'dep = "pypi:daydep==1.0"\n')
    ok(run_envr("allow", cwd=p, env=env))
    r = run_envr("outdated", cwd=p, env=env)
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["~ daytool 1.0 -> 1.1", "+ dep 1.0"]


def test_outdated_refuses_a_project_that_is_not_allowed_unless_trusted(isolated: Path) -> None:
    p, _, env = locked_project(isolated)
    (p / "envr.toml").write_text(TEXT + "# edited\n")  # changed since allowed
    r = run_envr("outdated", cwd=p, env=env)
    assert r.returncode == 3 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "run 'envr allow'" in r.stderr

    approvals = isolated / "data" / "envr" / "allow"
    before = snapshot(approvals)
    r = ok(run_envr("outdated", "--trust", cwd=p, env=env))  # resolves, but approves nothing
    assert "up to date" in r.stderr
    assert snapshot(approvals) == before
    assert run_envr("outdated", cwd=p, env=env).returncode == 3


def test_outdated_errors_exit_2(isolated: Path) -> None:
    p, wheels, env = locked_project(isolated)
    r = run_envr("outdated", "nope", cwd=p, env=env)
    assert r.returncode == 2 and r.stderr == f"envr: no package 'nope' in {p / 'envr.toml'}\n"
    for wheel in wheels.glob("daytool-*"):
        wheel.unlink()
    r = run_envr("outdated", cwd=p, env=env)
    assert r.returncode == 2 and "cannot resolve" in r.stderr
