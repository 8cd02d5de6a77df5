"""`envr prompt`: the active project and `envr shell -p` packages, for a shell prompt (environment only)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app

PANEL = "Entering a project"


@app.command(rich_help_panel=PANEL)
def prompt(
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="with {project}, {root}, {packages}; default: envr:{project}[+{packages}]"),
    ] = None,
) -> None:
    """Print a prompt segment such as envr:proj[+cowsay], or nothing when nothing is active. Reads only
    environment variables (ENVR_STATE, ENVR_SHELL_PACKAGES): no file, no store."""
    from envr.prompt.segment import segment

    text = segment(os.environ, fmt)
    if text:
        typer.echo(text)
