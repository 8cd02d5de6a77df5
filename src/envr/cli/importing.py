"""`envr import`: write an envr.toml from a repository's mise, asdf, nvm, pyenv and direnv files."""

from __future__ import annotations

from typing import Annotated

import typer

from envr.cli.app import app, say

PANEL = "Packages and the lock"


@app.command("import", rich_help_panel=PANEL)
def import_cmd(
    directory: Annotated[str, typer.Argument(help="the repository's directory")] = ".",
    stdout: Annotated[bool, typer.Option("--stdout", help="print the envr.toml instead of writing it")] = False,
) -> None:
    """Write envr.toml from .tool-versions, mise.toml, .nvmrc, .python-version and a simple .envrc, saying what
    could not be translated. Nothing is allowed: review it, then `envr allow`."""
    from envr.team.importing import import_project

    target, text, skipped = import_project(directory, write=not stdout)
    if stdout:
        typer.echo(text, nl=False)
    for line in skipped:
        say(f"not translated: {line}")
    if not stdout:
        say(f"wrote {target}; review it, then run 'envr allow'")
