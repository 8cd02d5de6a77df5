"""Commands for a project's packages: sync, the lock, adding and removing, git hooks (gc: cli/store.py)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app, project_file, say
from envr.errors import EnvrError
from envr.project.file import FILENAME, logical_cwd
from envr.project.load import load

PANEL = "Packages and the lock"
TRUST_HELP = "approve the project file as it is now first: resolving runs package build code (CI checkouts)"


@app.command(rich_help_panel=PANEL)
def sync(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Realise every package of the project into the store (independent ones in parallel)."""
    import time

    from envr.progress import Reporter
    from envr.project.packages import sync as sync_packages
    from envr.trust.allow import approved

    file = project_file(path)
    project, lock = approved(file)
    started = time.monotonic()
    reporter = Reporter()
    try:
        resolved, built = sync_packages(
            project, os.environ, reporter.say, progress=reporter.transfer, lock_content=lock
        )
    except EnvrError:
        _record_partial_generation(file)
        raise
    _record_generation(file)
    for name, r in resolved.items():
        typer.echo(f"{name}\t{'built' if name in built else 'present'}\t{r.path}")
    n = len(resolved)
    say(
        f"synced {n} package{'s' if n != 1 else ''} ({len(built)} built, {n - len(built)} already in the store)"
        f" in {time.monotonic() - started:.1f}s"
    )


def _record_generation(file: str) -> None:
    """After a sync: end any pin and record the project's environment as a generation (it is then a gc root)."""
    from envr.history import generations
    from envr.prompt.entry import run

    if generations.unpin(file):
        say("unpinned: the project runs its latest environment again")
    run(os.environ, os.path.dirname(file))


def _record_partial_generation(file: str) -> None:
    """After a failed sync: what did realise is rooted by the generation of what now loads (not realising
    the rest again, which just failed)."""
    from envr.prompt.commit import commit
    from envr.prompt.core import compute

    commit(compute(os.environ, os.path.dirname(file)))


@app.command("lock", rich_help_panel=PANEL)
def lock_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="with --upgrade: the packages to re-resolve")] = None,
    check: Annotated[bool, typer.Option("--check", help="exit 1, with a diff, if envr.lock does not match")] = False,
    upgrade: Annotated[bool, typer.Option("--upgrade", help="re-resolve NAMEs (default: all), show changes")] = False,
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    trust_it: Annotated[bool, typer.Option("--trust", help=TRUST_HELP)] = False,
) -> None:
    """Write envr.lock: each package's exact resolution, so every clone installs the same artifacts.

    Resolving can run a package's build code, so the project must be allowed (or --trust); --check does not
    resolve (no network, no code) and works on any project."""
    from envr.team import lock

    file = project_file(path)
    if check:
        project = load(file)
        problems = lock.check(project)
        if problems:
            typer.echo(f"{project.lock_file} does not match {file}:")
            for line in problems:
                typer.echo(f"  {line}")
            say("run envr lock to update it")
            raise typer.Exit(1)
        say(f"{project.lock_file} matches {FILENAME}")
        return
    if names and not upgrade:
        raise EnvrError("package names go with --upgrade (envr lock --upgrade NAME...)")
    written, changes = lock.relock(file, set(names or []) if upgrade else None, os.environ, say, trust_it)
    for line in changes:
        typer.echo(line)
    if written is not None:
        say(f"wrote {written}")


@app.command(rich_help_panel=PANEL)
def init(directory: Annotated[str, typer.Argument(help="where to write envr.toml")] = ".") -> None:
    """Write a commented starter envr.toml (never overwrites one) and allow it."""
    from envr.team.edit import init as init_project

    say(f"wrote and allowed {init_project(directory)}")


@app.command(rich_help_panel=PANEL)
def add(
    specs: Annotated[list[str], typer.Argument(help="pypi:REQUIREMENT or npm:NAME[@VERSION]")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    trust_it: Annotated[bool, typer.Option("--trust", help=TRUST_HELP)] = False,
) -> None:
    """Add packages to an allowed envr.toml (pinning unpinned ones), update envr.lock and realise them."""
    from envr.team.edit import add as add_packages

    file = project_file(path)
    for line in add_packages(file, specs, os.environ, say, trust_it):
        typer.echo(line)


@app.command(rich_help_panel=PANEL)
def remove(
    names: Annotated[list[str], typer.Argument(help="package names in [packages]")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    trust_it: Annotated[bool, typer.Option("--trust", help=TRUST_HELP)] = False,
) -> None:
    """Remove packages from an allowed envr.toml and from envr.lock."""
    from envr.team.edit import remove as remove_packages

    file = project_file(path)
    remove_packages(file, names, os.environ, say, trust_it)
    say(f"removed {', '.join(names)} from {file}")


git_hook_app = typer.Typer(help="Git hooks for teams.", no_args_is_help=True)


app.add_typer(git_hook_app, name="git-hook", rich_help_panel=PANEL)


@git_hook_app.command("install")
def git_hook_install(
    force: Annotated[bool, typer.Option("--force", help="replace an existing, different pre-commit hook")] = False,
) -> None:
    """Install the pre-commit hook that refuses a commit whose envr.lock does not match envr.toml."""
    from envr.team.edit import install_git_hook

    say(f"installed {install_git_hook(logical_cwd(), force)}")
