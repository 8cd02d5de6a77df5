"""`envr edit`: $VISUAL/$EDITOR on envr.toml, then re-allowed only if it still validates and was allowed before.

The editors are small scripts that edit the file the way a person would (append, replace a line), or do nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from cli_helpers import ok, run_envr

TEXT = '[env]\nGREETING = "hello"\n'


def editor(tmp: Path, name: str, body: str) -> str:
    """An executable editor script; $1 is the file it is asked to edit."""
    path = tmp / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def env_with(**editors: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VISUAL", "EDITOR")}
    env.update(editors)
    return env


def make(isolated: Path, allowed: bool = True) -> Path:
    p = isolated / "proj"
    p.mkdir()
    (p / "envr.toml").write_text(TEXT)
    if allowed:
        ok(run_envr("allow", cwd=p))
    return p


def test_an_allowed_file_edited_into_a_valid_one_is_allowed_again(isolated: Path) -> None:
    p = make(isolated)
    ed = editor(isolated, "ed", "sed -i 's/hello/hi there/' \"$1\"\n")
    r = ok(run_envr("edit", cwd=p, env=env_with(EDITOR=ed)))
    assert r.stderr == f"envr: allowed the edited {p / 'envr.toml'} (it was allowed before the edit)\n"
    assert (p / "envr.toml").read_text() == '[env]\nGREETING = "hi there"\n'
    r = ok(run_envr("exec", ".", "--", "sh", "-c", 'echo "$GREETING"', cwd=p))
    assert r.stdout == "hi there\n"


def test_visual_wins_over_editor_and_may_carry_arguments(isolated: Path) -> None:
    p = make(isolated)
    script = editor(isolated, "ed", 'printf "%s\\n" "$1" > "$0.args"; echo "SECOND = \\"$1\\"" >> "$2"\n')
    r = ok(run_envr("edit", cwd=p, env=env_with(VISUAL=f"{script} --wait", EDITOR="false")))
    assert "allowed the edited" in r.stderr
    assert Path(script + ".args").read_text() == "--wait\n"
    assert 'SECOND = "--wait"' in (p / "envr.toml").read_text()


def test_an_edit_of_a_file_that_was_not_allowed_does_not_allow_it(isolated: Path) -> None:
    p = make(isolated, allowed=False)
    ed = editor(isolated, "ed", 'echo \'OTHER = "x"\' >> "$1"\n')
    r = ok(run_envr("edit", str(p / "envr.toml"), cwd=isolated, env=env_with(EDITOR=ed)))
    assert "was not allowed before the edit, so it still is not" in r.stderr and "envr allow" in r.stderr
    r = run_envr("exec", ".", "--", "true", cwd=p)
    assert r.returncode != 0 and "not allowed" in r.stderr


def test_an_edit_that_breaks_the_file_shows_file_line_col_and_leaves_it_blocked(isolated: Path) -> None:
    p = make(isolated)
    ed = editor(isolated, "ed", "printf '[pakages]\\nx = 1\\n' >> \"$1\"\n")
    r = run_envr("edit", cwd=p, env=env_with(EDITOR=ed))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert (
        lines[0]
        == f"envr: {p / 'envr.toml'}:3:1: unknown section or key 'pakages' (expected one of: env, path, packages, python, version, inherit, dotenv, platforms)"
    )
    assert "stays blocked" in lines[1] and len(lines) == 2
    r = run_envr("exec", ".", "--", "true", cwd=p)
    assert r.returncode != 0 and "changed since allowed" in r.stderr


def test_an_unchanged_file_says_so_and_keeps_its_trust(isolated: Path) -> None:
    p = make(isolated)
    approval = sorted((isolated / "data" / "envr" / "allow").iterdir())
    before = [(a.read_bytes(), a.stat().st_mtime_ns) for a in approval]
    r = ok(run_envr("edit", cwd=p, env=env_with(EDITOR="true")))
    assert r.stderr == f"envr: {p / 'envr.toml'} unchanged\n"
    assert [(a.read_bytes(), a.stat().st_mtime_ns) for a in approval] == before


def test_the_editor_failing_or_missing_is_one_line_and_allows_nothing(isolated: Path) -> None:
    p = make(isolated)
    ed = editor(isolated, "ed", 'echo \'X = "1"\' >> "$1"; exit 4\n')
    r = run_envr("edit", cwd=p, env=env_with(EDITOR=ed))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "exited with status 4" in r.stderr
    assert run_envr("exec", ".", "--", "true", cwd=p).returncode != 0  # the edited file is not allowed
    r = run_envr("edit", cwd=p, env=env_with(EDITOR=str(isolated / "no-such-editor")))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "cannot run the editor" in r.stderr


def test_an_edit_of_packages_says_when_the_lock_no_longer_fits(isolated: Path) -> None:
    p = make(isolated)
    (p / "tools").mkdir()
    (p / "envr.toml").write_text(TEXT + '[packages]\ntools = { path = "./tools" }\n')
    ok(run_envr("allow", cwd=p))
    ok(run_envr("lock", cwd=p))
    ed = editor(isolated, "ed", 'echo \'more = { path = "./tools" }\' >> "$1"\n')
    r = ok(run_envr("edit", cwd=p, env=env_with(EDITOR=ed)))
    assert "allowed the edited" in r.stderr and "envr.lock is stale" in r.stderr and "run envr lock" in r.stderr


def test_edit_outside_a_project(isolated: Path) -> None:
    r = run_envr("edit", cwd=isolated, env=env_with(EDITOR="true"))
    assert r.returncode == 1 and r.stderr == f"envr: no envr.toml at or above {isolated} (envr init writes one)\n"
