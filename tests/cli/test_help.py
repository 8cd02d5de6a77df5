"""Help reads like the rest of the CLI: `PATH`, `NAME...`, `--keep-last K`, flags with no metavar; never typer's
`<bool>`, `<str>` or `<list[str]>`. Every command's help is checked through the installed console script."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import typer

import envr.cli
from cli_helpers import ok, run_envr
from envr.cli.app import app

TYPE_LABEL = re.compile(r"<(bool|str|int|float|list\[|path|int range|float range)")


def command_paths() -> list[tuple[str, ...]]:
    assert envr.cli  # every module has registered its commands
    root = typer.main.get_command(app)
    out: list[tuple[str, ...]] = [()]

    def walk(cmd: object, where: tuple[str, ...]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            out.append((*where, name))
            walk(sub, (*where, name))

    walk(root, ())
    return out


def help_of(path: tuple[str, ...], cwd: Path) -> str:
    env = {**os.environ, "COLUMNS": "160", "TERM": "dumb", "NO_COLOR": "1"}
    return ok(run_envr(*path, "--help", cwd=cwd, env=env)).stdout


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "envr")
def test_no_type_labels_and_uppercase_usage(path: tuple[str, ...], tmp_path: Path) -> None:
    if path == ("export",):  # the hook's lean entry answers it before typer: its own one-line usage
        r = run_envr("export", "--help", cwd=tmp_path)
        assert r.returncode == 2 and r.stderr == "usage: envr export bash|zsh|fish|json|dotenv|github\n"
        return
    text = help_of(path, tmp_path)
    assert not TYPE_LABEL.search(text), text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert not re.search(r"[{\[]?\b[a-z_]+\b[}\]]?\.\.\.|\{[a-z]|\[[a-z]", usage.split("[OPTIONS]", 1)[-1]), usage


def test_the_usage_lines_a_user_reads(tmp_path: Path) -> None:
    def usage(*path: str) -> str:
        line = next(x for x in help_of(path, tmp_path).splitlines() if "Usage:" in x)
        return line.strip().removeprefix("Usage: ")

    assert usage("allow") == "envr allow [OPTIONS] [PATH]"
    assert usage("hook") == "envr hook [OPTIONS] SHELL"
    assert usage("exec") == "envr exec [OPTIONS] DIR CMD..."
    assert usage("lock") == "envr lock [OPTIONS] [NAME]..."
    assert usage("remove") == "envr remove [OPTIONS] NAME..."
    assert usage("switch-generation") == "envr switch-generation [OPTIONS] N"
    assert usage("watch") == "envr watch [OPTIONS] [KIND]"
    assert usage("store", "path") == "envr store path [OPTIONS] NAME"
    text = help_of(("generations",), tmp_path)
    assert re.search(r"--keep-last\s+K\s", text) and re.search(r"--project\s+PATH\s", text)
    assert re.search(r"--delete\s+N\s", text)
    assert "[packages]" in help_of(("remove",), tmp_path)  # help text is shown as written, not as markup
    root = help_of((), tmp_path)
    assert re.search(r"--version\s+Print the version", root)
    assert "--install-completion" in root and "--show-completion" in root
