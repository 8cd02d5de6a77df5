"""`envr prompt`: the active project and `envr shell -p` packages from the environment alone, and the README's
prompt lines for bash, zsh and fish (the segment, and the cheaper variables-only form) in real shells."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli_helpers import BIN, ENVR, ok, project, run_envr
from envr.prompt.segment import main, segment
from shellkit import PROMPT, SYSTEM_PATH, Session, Shell, write_project


def test_inside_a_project_and_a_throwaway_shell(isolated: Path) -> None:
    p = isolated / "proj"
    p.mkdir()
    (p / "envr.toml").write_text('[env]\nA = "1"\n')
    assert ok(run_envr("exec", "--trust", ".", "--", ENVR, "prompt", cwd=p)).stdout == "envr:proj\n"
    r = ok(run_envr("exec", ".", "--", ENVR, "prompt", "--format", "{project}|{root}|{packages}", cwd=p))
    assert r.stdout == f"proj|{p}|\n"
    tools = project(isolated / "t", "") / "tools"
    env = {**os.environ, "ENVR_SHELL_PACKAGES": "cowsay"}
    r = ok(run_envr("shell", "-p", f"mine=path:{tools}", "--", ENVR, "prompt", cwd=isolated, env=env))
    assert r.stdout == "envr[+cowsay,mine]\n"  # nested shells append
    r = ok(run_envr("exec", ".", "--", ENVR, "shell", "-p", f"mine=path:{tools}", "--", ENVR, "prompt", cwd=p))
    assert r.stdout == "envr:proj[+mine]\n"


def test_nothing_active_prints_nothing_but_a_bad_format_still_fails(isolated: Path) -> None:
    r = ok(run_envr("prompt", cwd=isolated))
    assert (r.stdout, r.stderr) == ("", "")
    assert ok(run_envr("prompt", "--format", "[{project}] ", cwd=isolated)).stdout == ""
    r = run_envr("prompt", "--format", "{nope}", cwd=isolated)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "{project}, {root}, {packages}" in r.stderr


def test_the_segment_reads_only_the_environment() -> None:
    from envr.prompt.state import State

    state = State("/home/u/work/my proj", "/home/u/work/my proj/envr.toml", "digest").encode()
    env = {"HOME": "/home/u", "ENVR_STATE": state, "ENVR_SHELL_PACKAGES": "a  b"}
    assert segment(env) == "envr:my proj[+a,b]"
    assert segment(env, "{root} {{x}}") == "~/work/my proj {x}"
    assert segment({"ENVR_STATE": "garbage"}) == ""  # unreadable state: nothing is active
    odd = State("/tmp/a\nb\x1b[31m", "/tmp/f", "d").encode()
    assert segment({"ENVR_STATE": odd}) == "envr:a\\x0ab\\x1b[31m"  # shown, never obeyed by the terminal


def test_the_lean_entry_handles_its_own_arguments_and_leaves_the_rest_to_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVR_SHELL_PACKAGES", "x")
    monkeypatch.delenv("ENVR_STATE", raising=False)
    assert main([]) == 0 and capsys.readouterr().out == "envr[+x]\n"
    assert main(["--format", "<{packages}>"]) == 0 and capsys.readouterr().out == "<x>\n"
    assert main(["--format=<{packages}>"]) == 0 and capsys.readouterr().out == "<x>\n"
    assert main(["--format", "{bad}"]) == 1 and "placeholders" in capsys.readouterr().err
    assert main(["--help"]) is None and main(["--format"]) is None


# The README's lines, exactly: the segment, and the cheaper form that reads the variables in the shell itself.
SEGMENT = {
    "bash": "PS1='$(envr prompt)'\"$PS1\"",
    "zsh": "setopt prompt_subst; PROMPT='$(envr prompt)'\"$PROMPT\"",
    "fish": "functions -c fish_prompt __old_prompt; function fish_prompt; printf '%s' (envr prompt); __old_prompt; end",
}
CHEAP = {
    "bash": "PS1='${ENVR_ROOT:+envr:${ENVR_ROOT##*/}}${ENVR_SHELL_PACKAGES:+[+${ENVR_SHELL_PACKAGES// /,}]}'\"$PS1\"",
    "zsh": "setopt prompt_subst; "
    "PROMPT='${ENVR_ROOT:+envr:${ENVR_ROOT##*/}}${ENVR_SHELL_PACKAGES:+[+${ENVR_SHELL_PACKAGES// /,}]}'\"$PROMPT\"",
    "fish": "functions -c fish_prompt __old_prompt; function fish_prompt; "
    "set -q ENVR_ROOT; and printf 'envr:%s' (string replace -r '.*/' '' -- $ENVR_ROOT); "
    "set -q ENVR_SHELL_PACKAGES; and printf '[+%s]' (string join , (string split ' ' -- $ENVR_SHELL_PACKAGES)); "
    "__old_prompt; end",
}


def shown_before_prompt(sh: Shell, line: str) -> str:
    """Run line; return what the next prompt shows in front of the tests' fixed prompt text. (Shell.run would
    refuse that text: it checks nothing but the prompt follows a command's output.)"""
    n = next(sh._ids)
    sh.child.sendline(f"__ts {n}; {line}; __te {n}")
    sh.child.expect_exact(f"<<E:{n}>>\r\n")
    sh.child.expect_exact(PROMPT)
    return sh.child.before.split("\r\n")[-1].split("\r")[-1].strip(" \u23ce")


@pytest.mark.parametrize("form", ["segment", "cheap"])
def test_the_readme_prompt_lines_show_the_project_in_real_shells(session: Session, kind: str, form: str) -> None:
    sh = session.shell(extra_env={"PATH": f"{BIN}:{SYSTEM_PATH}"})
    root = session.work / "proj"
    session.allow(write_project(root, {"GREETING": "hi"}))
    res = sh.run((SEGMENT if form == "segment" else CHEAP)[kind])
    assert res.hook == [], res  # outside any project the segment is empty
    assert shown_before_prompt(sh, f"cd {sh.q(root)}") == "envr:proj"
    export = "set -gx ENVR_SHELL_PACKAGES 'a b'" if kind == "fish" else "export ENVR_SHELL_PACKAGES='a b'"
    assert shown_before_prompt(sh, export) == "envr:proj[+a,b]"
    unset = "set -e ENVR_SHELL_PACKAGES" if kind == "fish" else "unset ENVR_SHELL_PACKAGES"
    assert shown_before_prompt(sh, unset) == "envr:proj"
    assert shown_before_prompt(sh, "cd ..") == ""
