"""Generations, rollback and the user profile."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from envr.cli.app import allowed_file, app, say, when
from envr.errors import EnvrError

PANEL = "Generations and the profile"


@app.command(rich_help_panel=PANEL)
def generations(
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    delete: Annotated[list[int] | None, typer.Option("--delete", help="delete generation N (repeatable)")] = None,
    keep_last: Annotated[int | None, typer.Option("--keep-last", help="delete all but the last K")] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="delete those older than (30d)")] = None,
    numbers: Annotated[list[int] | None, typer.Argument(help="with --delete: more numbers")] = None,
) -> None:
    """List the project's generations (marking the current one), or delete some; never the current one."""
    from envr.history import generations as gens

    file, digest = allowed_file(path)
    gdir = gens.project_dir(file)
    if delete is not None or keep_last is not None or older_than is not None:
        if numbers and delete is None:
            raise EnvrError("give numbers to delete with --delete")
        which = [*(delete or []), *(numbers or [])]
        if keep_last is not None and keep_last < 1:
            raise EnvrError("--keep-last must be at least 1")
        age = gens.parse_age(older_than) if older_than else None
        if keep_last is not None or age is not None:
            which += gens.select_old(gdir, keep_last, age)
        done = gens.delete(file, sorted(set(which)))
        say(f"deleted {len(done)} generation{'s' if len(done) != 1 else ''}" + (f": {_nums(done)}" if done else ""))
        return
    rows = gens.listing(file, digest)
    if not rows:
        say(f"{file} has no generations yet (entering it or envr sync records one)")
        return
    for n, t, mark, change in rows:
        typer.echo(f"{n:>4}  {when(t)}  {change}" + (f"   ({mark})" if mark else ""))


def _nums(ns: list[int]) -> str:
    return ", ".join(str(n) for n in ns)


@app.command(rich_help_panel=PANEL)
def rollback(path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None) -> None:
    """Make the generation before the active one active now (no download, no build), until envr sync or an edit."""
    from envr.history import generations as gens

    file, digest = allowed_file(path)
    pin = gens.rollback(file, digest)
    say(f"rolled back to generation {pin}; it shows at the next prompt (envr sync returns to the latest)")


@app.command("switch-generation", rich_help_panel=PANEL)
def switch_generation(
    number: Annotated[int, typer.Argument(help="a generation number (see envr generations)")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
) -> None:
    """Make generation N active now (no download, no build), until envr sync or an edit of the project file."""
    from envr.history import generations as gens

    file, digest = allowed_file(path)
    pin = gens.switch(file, digest, number)
    if pin is None:
        say(f"switched to generation {number}, the latest; it shows at the next prompt")
    else:
        say(f"switched to generation {number}; it shows at the next prompt (envr sync returns to the latest)")


profile_app = typer.Typer(help="Tools in every hooked shell: the user profile.", no_args_is_help=True)


app.add_typer(profile_app, name="profile", rich_help_panel=PANEL)


def _profile_result(n: int, new: bool) -> None:
    say(f"profile generation {n}" + (" (new)" if new else " (reused)") + "; on PATH in every hooked shell")


@profile_app.command("install")
def profile_install(specs: Annotated[list[str], typer.Argument(help="pypi:REQ, npm:NAME@VER or path:DIR")]) -> None:
    """Add tools to the profile (a new profile generation, or one you already have)."""
    from envr.history import profile

    _profile_result(*profile.install(specs, os.environ, say))


@profile_app.command("remove")
def profile_remove(names: Annotated[list[str], typer.Argument(help="installed names")]) -> None:
    """Remove tools from the profile."""
    from envr.history import profile

    _profile_result(*profile.remove(names))


@profile_app.command("list")
def profile_list() -> None:
    """The tools in the current profile generation."""
    from envr.history import profile

    for name, (spec, path) in sorted(profile.manifest(profile.current()).items()):
        typer.echo(f"{name}	{spec}	{path}")


@profile_app.command("generations")
def profile_generations() -> None:
    """List profile generations, marking the current one."""
    from envr.history import generations as gens
    from envr.history import profile

    now = profile.current()
    before: dict[str, Any] | None = None
    for n in profile.numbers():
        pk = {name: path for name, (_, path) in profile.manifest(n).items()}
        data: dict[str, Any] = {"packages": pk, "env": {}, "prepend": [], "append": []}
        t = os.lstat(os.path.join(profile.profile_dir(), "generations", str(n))).st_mtime
        typer.echo(f"{n:>4}  {when(t)}  {gens.summary(before, data)}" + ("   (current)" if n == now else ""))
        before = data


@profile_app.command("rollback")
def profile_rollback() -> None:
    """Switch the profile to the generation before the current one."""
    from envr.history import profile

    say(f"profile rolled back to generation {profile.rollback()}")


@profile_app.command("switch-generation")
def profile_switch(number: Annotated[int, typer.Argument(help="a profile generation number")]) -> None:
    """Switch the profile to generation N."""
    from envr.history import profile

    say(f"profile switched to generation {profile.switch(number)}")
