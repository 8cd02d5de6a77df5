"""Monorepos and dotenv files in real shells (issue 15): a child that inherits its parent, per-file trust,
dotenv files read as data and reloaded when edited, and secrets from commands."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from shellkit import SYSTEM_PATH, Session, Shell, age, write_project


def three_levels(session: Session) -> tuple[Path, Path, Path]:
    top = session.work / "mono"
    mid = top / "services"
    leaf = mid / "api"
    write_project(top, {"LEVEL": "top", "TOP": "1"}, prepend=["bin"])
    write_project(mid, {"LEVEL": "mid", "MID": "${TOP}-mid"}, prepend=["tools"])
    write_project(leaf, {"LEVEL": "leaf", "LEAF": "yes"}, prepend=["bin"])
    for root in (mid, leaf):
        text = (root / "envr.toml").read_text()
        (root / "envr.toml").write_text("inherit = true\n" + text)
    session.allow(top / "envr.toml", mid / "envr.toml", leaf / "envr.toml")
    age(session.tmp)
    return top, mid, leaf


def expected(level: str, top: Path, mid: Path, leaf: Path) -> dict[str, str | None]:
    if level == "out":
        return {"LEVEL": None, "TOP": None, "MID": None, "LEAF": None, "PATH": SYSTEM_PATH}
    if level == "top":
        return {"LEVEL": "top", "TOP": "1", "MID": None, "LEAF": None, "PATH": f"{top}/bin:{SYSTEM_PATH}"}
    if level == "mid":
        path = f"{mid}/tools:{top}/bin:{SYSTEM_PATH}"
        return {"LEVEL": "mid", "TOP": "1", "MID": "1-mid", "LEAF": None, "PATH": path}
    path = f"{leaf}/bin:{mid}/tools:{top}/bin:{SYSTEM_PATH}"
    return {"LEVEL": "leaf", "TOP": "1", "MID": "1-mid", "LEAF": "yes", "PATH": path}


def test_a_three_level_monorepo_entered_and_left_in_every_order(session: Session, sh: Shell) -> None:
    top, mid, leaf = three_levels(session)
    where = {"out": session.work, "top": top, "mid": mid, "leaf": leaf}
    before = sh.state()
    for a, b in itertools.permutations(where, 2):
        for level in (a, b):
            sh.cd(where[level])
            env = sh.environ()
            for name, value in expected(level, top, mid, leaf).items():
                assert env.get(name) == value, (a, b, level, name, env.get(name))
        sh.cd(session.work)
        assert sh.state() == before, (a, b)


def test_leaving_the_child_for_the_parent_reverts_only_the_childs_part(session: Session, sh: Shell) -> None:
    top, _mid, leaf = three_levels(session)
    sh.cd(leaf)
    sh.export("TOP", "changed by me")  # a parent's variable, changed while in the child
    res = sh.cd(top)
    env = sh.environ()
    assert env["TOP"] == "changed by me"  # the parent's layer stays as it is, the user's change included
    assert env["LEVEL"] == "top" and "LEAF" not in env and "MID" not in env
    assert len(res.hook) == 1 and "unloaded" in res.hook[0], res.hook
    res = sh.cd(session.work)
    assert "kept TOP as you changed it inside" in res.hook[0], res.hook
    assert sh.var("TOP") == "changed by me"


def test_a_blocked_middle_level(session: Session, sh: Shell) -> None:
    _top, mid, leaf = three_levels(session)
    (mid / "envr.toml").write_text((mid / "envr.toml").read_text().replace("[env]\n", '[env]\nEXTRA = "unapproved"\n'))
    age(session.tmp)
    res = sh.cd(leaf)  # the leaf inherits a blocked parent: nothing of the chain loads
    assert len(res.hook) == 1 and f"{mid}/envr.toml" in res.hook[0] and "inherited by" in res.hook[0], res.hook
    assert sh.var("LEVEL") is None and sh.var("EXTRA") is None
    res = sh.cd(mid)  # the blocked file itself: its parent (which it inherits) loads, with one line
    assert len(res.hook) == 1 and "changed since allowed" in res.hook[0], res.hook
    assert sh.var("LEVEL") == "top" and sh.var("EXTRA") is None
    sh.envr(f"allow {sh.q(mid)}")
    sh.cd(leaf)
    assert sh.var("EXTRA") == "unapproved" and sh.var("LEVEL") == "leaf"


def dotenv_project(session: Session, dotenv: str, extra: str = "") -> Path:
    root = session.work / "app"
    root.mkdir(parents=True)
    (root / "envr.toml").write_text(f'dotenv = [".env", {{ file = ".env.local", optional = true }}]\n{extra}')
    (root / ".env").write_text(dotenv)
    session.allow(root / "envr.toml")
    age(session.tmp)
    return root


def test_a_dotenv_edit_reloads_at_the_next_prompt_without_allow(session: Session, sh: Shell) -> None:
    root = dotenv_project(session, "A=1\nB='two words'\n", '[env]\nC = "${A}-c"\n')
    sh.cd(root)
    assert (sh.var("A"), sh.var("B"), sh.var("C")) == ("1", "two words", "1-c")
    (root / ".env").write_text("A=2\n")
    sh.run("true")
    assert (sh.var("A"), sh.var("B"), sh.var("C")) == ("2", None, "2-c")
    (root / ".env.local").write_text("B=local\n")  # the optional file appears
    sh.run("true")
    assert sh.var("B") == "local"
    sh.cd(session.work)
    assert (sh.var("A"), sh.var("B"), sh.var("C")) == (None, None, None)


HOSTILE = (
    "A=$(touch pwned-a)\n"
    "B=`touch pwned-b`\n"
    'C="line one\\nline \\"two\\" ${A} $$ $(touch pwned-c)"\n'
    "D='single $(touch pwned-d) ${A}'\n"
    "E=a;touch pwned-e\n"
)


def test_hostile_dotenv_values_reach_the_shell_byte_for_byte_and_never_run(session: Session, sh: Shell) -> None:
    root = dotenv_project(session, HOSTILE)
    sh.cd(root)
    assert sh.var("A") == "$(touch pwned-a)"
    assert sh.var("B") == "`touch pwned-b`"
    assert sh.var("C") == 'line one\nline "two" $(touch pwned-a) $ $(touch pwned-c)'
    assert sh.var("D") == "single $(touch pwned-d) ${A}"
    assert sh.var("E") == "a;touch pwned-e"
    assert not list(session.tmp.rglob("pwned-*"))


def test_a_pulled_dotenv_that_sets_ld_preload_or_path_takes_no_effect(session: Session, sh: Shell) -> None:
    root = dotenv_project(session, "OK=1\n")
    sh.cd(root)
    assert sh.var("OK") == "1"
    (root / ".env").write_text("OK=2\nLD_PRELOAD=/tmp/evil.so\nPATH=/tmp/evil\nNODE_OPTIONS=--require=/tmp/x.js\n")
    res = sh.run("true")
    assert sh.var("OK") == "2"
    assert sh.var("LD_PRELOAD") is None and sh.var("NODE_OPTIONS") is None
    assert sh.environ()["PATH"] == SYSTEM_PATH
    assert len(res.hook) == 1 and "LD_PRELOAD refused" in res.hook[0] and "PATH refused" in res.hook[0], res.hook


def test_a_name_the_project_file_allows_may_come_from_dotenv(session: Session, sh: Shell) -> None:
    root = session.work / "app"
    root.mkdir()
    (root / "envr.toml").write_text('dotenv = [{ file = ".env", allow = ["NODE_OPTIONS"] }]\n')
    (root / ".env").write_text("NODE_OPTIONS=--max-old-space-size=4096\n")
    session.allow(root / "envr.toml")
    sh.cd(root)
    assert sh.var("NODE_OPTIONS") == "--max-old-space-size=4096"


@pytest.mark.parametrize(
    ("command", "value", "said"),
    [
        ('["printf", "s3cret\\\\n"]', "s3cret", None),
        ('["printf", "%s", "it\'s $(not) run\\n\\n"]', "it's $(not) run\n", None),
        ('["sh", "-c", "echo nope >&2; exit 3"]', None, "failed (exit 3): nope"),
        ('["sleep", "30"]', None, "took longer than 1s"),
        ('["no-such-command-here"]', None, "cannot run"),
    ],
    ids=["plain", "hostile", "fails", "hangs", "missing"],
)
def test_a_secret_from_a_command(
    session: Session, sh: Shell, command: str, value: str | None, said: str | None
) -> None:
    root = session.work / "app"
    root.mkdir()
    (root / "envr.toml").write_text(f'[env]\nOTHER = "loads"\nTOKEN = {{ command = {command}, timeout = 1 }}\n')
    session.allow(root / "envr.toml")
    res = sh.cd(root)
    assert sh.var("TOKEN") == value
    assert sh.var("OTHER") == "loads"  # the rest loads whatever the command did
    if said is not None:
        assert len(res.hook) == 1 and said in res.hook[0] and "TOKEN not set" in res.hook[0], res.hook
