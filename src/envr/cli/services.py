"""Long-running and wrapping commands: envr watch and envr shell -p."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from envr.cli.app import app
from envr.errors import EnvrError
from envr.project.file import logical_cwd

PANEL = "Background and throwaway"


@app.command(rich_help_panel=PANEL)
def watch(
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="At most this many builds at once.")] = 2,
    debounce: Annotated[
        float, typer.Option(min=0.0, help="Seconds a project's files must stay quiet before it is realised.")
    ] = 1.0,
    show_status: Annotated[
        bool, typer.Option("--status", help="Whether a watcher runs, what it watches, what it last did.")
    ] = False,
    print_service: Annotated[
        bool, typer.Option("--print-service", help="Print a systemd user unit (or, with KIND launchd, a plist).")
    ] = False,
    kind: Annotated[str, typer.Argument(metavar="[KIND]", help="with --print-service: systemd or launchd")] = "systemd",
) -> None:
    """Realise approved projects' packages in the background whenever their envr.toml or envr.lock changes."""
    from envr.services import watch as watcher

    if show_status:
        text, running = watcher.status_text()
        typer.echo(text)
        raise typer.Exit(0 if running else 3)
    if print_service:
        sys.stdout.write(watcher.service_text(kind, os.environ))
        return
    if kind != "systemd":
        raise EnvrError(f"unexpected argument {kind!r}; did you mean --print-service {kind}?")
    watcher.watch(jobs, debounce, os.environ)


@app.command(rich_help_panel=PANEL, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def shell(
    package: Annotated[
        list[str], typer.Option("--package", "-p", help="pypi:REQ, npm:NAME@VERSION or path:DIR (repeatable).")
    ],
    command: Annotated[list[str] | None, typer.Argument(help="a command to run instead of $SHELL, after --")] = None,
) -> None:
    """A throwaway environment with these packages on top of the current one; nothing is written anywhere."""
    from envr.services.shell import run as run_shell

    raise typer.Exit(run_shell(package, command or [], os.environ, logical_cwd()))
