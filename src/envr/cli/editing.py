"""`envr edit`: envr.toml in $VISUAL/$EDITOR, re-allowed afterwards if it was allowed before (like direnv edit)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app, project_file, say

PANEL = "Entering a project"


@app.command(rich_help_panel=PANEL)
def edit(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Open envr.toml in $VISUAL or $EDITOR (else vi); afterwards re-allow it if it still validates and was
    allowed before the edit."""
    from envr.trust import editing

    file = project_file(path)
    result = editing.edit(file, os.environ)
    if result.outcome == editing.UNCHANGED:
        say(f"{file} unchanged")
    elif result.outcome == editing.INVALID:
        say(f"{result.error}")
        say(f"{file} stays blocked: fix it, then run 'envr allow'")
        raise typer.Exit(1)
    elif result.outcome == editing.ALLOWED:
        say(f"allowed the edited {file} (it was allowed before the edit)")
    else:
        say(f"{file} is valid but was not allowed before the edit, so it still is not; run 'envr allow' to trust it")
    if result.note is not None:
        say(result.note)
