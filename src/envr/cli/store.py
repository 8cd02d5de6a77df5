"""`envr store ...`: the shared store of realised packages."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app, project_file, say
from envr.errors import EnvrError
from envr.project.load import load

PANEL = "Packages and the lock"

store_app = typer.Typer(help="The shared store of realised packages.", no_args_is_help=True)


app.add_typer(store_app, name="store", rich_help_panel=PANEL)


@store_app.command("ls")
def store_ls() -> None:
    """List valid store paths with their size."""
    from envr.store import registry, store_dir

    for entry in registry.entries(store_dir()):
        typer.echo(f"{entry.path}\t{entry.size}")


@store_app.command("path")
def store_path(
    name: Annotated[str, typer.Argument(help="a package name in [packages]")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
) -> None:
    """Print the store path a package of this project resolves to, realised or not."""
    from envr.project.packages import lock_of, resolve, specs_of
    from envr.store import registry, store_dir

    project = load(project_file(path))
    store = store_dir()
    resolved = resolve(specs_of(project), store, None, lock_of(project))
    if name not in resolved:
        raise EnvrError(f"no package {name!r} in {project.file}")
    typer.echo(resolved[name].path)
    if not registry.valid(store, [resolved[name].path]):
        say(f"{name} is not realised; run envr sync")


@store_app.command("verify")
def store_verify() -> None:
    """Re-hash every store path; report corrupted or missing ones (exit 1 if any)."""
    from envr.store import store_dir
    from envr.store.verify import verify

    checked, problems = verify(store_dir())
    for p in problems:
        typer.echo(f"{p.path}: {p.what}")
    say(f"verified {checked} store path{'s' if checked != 1 else ''}: {len(problems)} bad")
    if problems:
        raise typer.Exit(1)


@store_app.command("rm")
def store_rm(path: Annotated[str, typer.Argument(help="a store path")]) -> None:
    """Remove a store path (refused while another valid path references it)."""
    from envr.store import store_dir
    from envr.store.verify import remove

    remove(store_dir(), path)
    say(f"removed {os.path.abspath(path)}")
