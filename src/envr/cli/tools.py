"""`envr ls` (what the project's packages are, read-only) and `envr outdated` (what an upgrade would change)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app, project_file, say
from envr.errors import EnvrError, NotTrustedError
from envr.project.load import load
from envr.trust import approvals as trust

PANEL = "Packages and the lock"


def _shown_path(path: str | None, long: bool) -> str:
    if path is None:
        return "-"
    return path if long else os.path.basename(path)


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        typer.echo("  ".join([*(cell.ljust(w) for cell, w in zip(r, widths, strict=False)), r[-1]]))


@app.command("ls", rich_help_panel=PANEL)
def ls(
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    long: Annotated[bool, typer.Option("--long", "-l", help="full store paths")] = False,
    profile: Annotated[bool, typer.Option("--profile", help="the profile's tools instead of the project's")] = False,
) -> None:
    """The project's packages: kind, version, what envr.lock pins, store path, realised or missing. Reads only."""
    if profile:
        from envr.history.profile_listing import profile_rows

        tools = profile_rows(os.environ)
        if not tools:
            say("the profile has no tools (envr profile install SPEC adds one)")
            return
        rows = [["NAME", "KIND", "VERSION", "STATE", "STORE PATH"]]
        rows += [[t.name, t.kind, t.version, t.state, _shown_path(t.path, long)] for t in tools]
        _table(rows)
        return
    from envr.project.listing import project_rows

    file = project_file(path)
    project = load(file)
    packages, note = project_rows(project, os.environ)
    if note is not None:
        say(note)
    if not trust.check(file, trust.content_hash(file)).allowed:
        say(f"{file} is not allowed, so the prompt loads none of this; run 'envr allow' to trust it")
    if not packages:
        say(f"no packages in {file}")
        return
    rows = [["NAME", "KIND", "VERSION", "LOCKED", "STATE", "STORE PATH"]]
    for p in packages:
        rows.append([p.name, p.kind, p.version, p.locked or "-", p.state, _shown_path(p.path, long)])
    _table(rows)
    for p in packages:
        if p.problem is not None:
            say(p.problem)


@app.command(rich_help_panel=PANEL)
def outdated(
    names: Annotated[list[str] | None, typer.Argument(help="only these packages (default: all)")] = None,
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    trust_it: Annotated[
        bool, typer.Option("--trust", help="resolve even though the project is not allowed (nothing is approved)")
    ] = False,
) -> None:
    """What `envr lock --upgrade` would change, writing nothing. Exit 0: up to date; 1: something would change;
    2: it could not be resolved; 3: not allowed."""
    from envr.team.outdated import outdated as what_changes

    file = project_file(path)
    if not trust_it and not trust.check(file, trust.content_hash(file)).allowed:
        raise NotTrustedError(
            f"{file} is not allowed, and resolving its packages can run their build code;"
            " run 'envr allow' first (or envr outdated --trust)"
        )
    try:
        lines = what_changes(file, names or [], os.environ, say)
    except EnvrError as e:
        say(str(e))
        raise typer.Exit(2) from None
    for line in lines:
        typer.echo(line)
    if lines:
        n = len(lines)
        say(f"{n} package{'s' if n != 1 else ''} would change; envr lock --upgrade {' '.join(names or [])}".rstrip())
        raise typer.Exit(1)
    say("everything is up to date")
