"""`envr store ...` and `envr gc`: the shared store of realised packages."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app, project_file, say, size
from envr.errors import EnvrError
from envr.project.load import load

PANEL = "Packages and the lock"

store_app = typer.Typer(help="The shared store of realised packages.", no_args_is_help=True)


app.add_typer(store_app, name="store", rich_help_panel=PANEL)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


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
    """Re-hash every store path; report corrupted or missing ones (exit 1 if any), leftovers and foreign entries."""
    from envr.store import store_dir
    from envr.store.layout import foreign_line
    from envr.store.verify import verify

    store = store_dir()
    report = verify(store)
    for p in report.problems:
        typer.echo(f"{p.path}: {p.what}")
    for left in report.unregistered:
        typer.echo(f"{left}: not registered (left by interrupted work; envr gc deletes it)")
    if report.foreign:
        say(foreign_line(store, report.foreign))
    bad = len(report.problems)
    hint = "; envr store repair drops what is bad, envr sync rebuilds it" if bad else ""
    say(f"verified {_plural(report.checked, 'store path')}: {bad} bad{hint}")
    if bad:
        raise typer.Exit(1)


@store_app.command("repair")
def store_repair() -> None:
    """Rebuild the registry from the store paths: re-hash each, re-register those matching their record."""
    from envr.store import store_dir
    from envr.store.layout import foreign_line
    from envr.store.repair import repair

    store = store_dir()
    out = repair(store)
    for path, why in out.refused:
        typer.echo(f"{path}: not registered: {why}")
    if out.kept_broken:
        say(f"kept the unreadable registry as {out.kept_broken}")
    if out.foreign:
        say(foreign_line(store, out.foreign))
    refused = len(out.refused)
    tail = f"; {refused} not (envr gc deletes them, envr sync rebuilds what a project needs)" if refused else ""
    say(f"re-registered {_plural(len(out.registered), 'store path')} in {store}{tail}")


@store_app.command("rm")
def store_rm(path: Annotated[str, typer.Argument(help="a store path")]) -> None:
    """Remove a store path (refused while another valid path references it)."""
    from envr.store import store_dir
    from envr.store.verify import remove

    remove(store_dir(), path)
    say(f"removed {os.path.abspath(path)}")


def _roots_after_drops(age: float | None) -> set[str]:
    """The roots a real gc would see after dropping dead projects' generations (and, with --older-than, the
    old ones), without dropping anything: so that --dry-run lists exactly what the real run deletes."""
    import time

    from envr.history import generations as gens
    from envr.history import profile

    out: set[str] = set()
    for gdir in gens.all_projects():
        file = gens.project_of(gdir)
        if not (file and os.path.isdir(os.path.dirname(file))):
            continue  # prune_dead drops it
        doomed = set(gens.select_old(gdir, older_than=age)) if age is not None else set()
        for n in gens.numbers(gdir):
            data = gens.load(gdir, n)
            if n not in doomed and data is not None:
                out.update(data.get("packages", {}).values())
    keep, cutoff = profile.current(), time.time() - (age or 0)
    for n in profile.numbers():
        gen = os.path.join(profile.profile_dir(), "generations", str(n))
        if age is None or n == keep or os.lstat(gen).st_mtime >= cutoff:
            out.update(path for _, path in profile.manifest(n).values())
    return out


@app.command(rich_help_panel=PANEL)
def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be deleted")] = False,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="first drop generations older than this (30d)")
    ] = None,
) -> None:
    """Delete every store path no generation, profile or running envr uses; print the count and bytes freed."""
    from envr.history import generations as gens
    from envr.history import profile
    from envr.store import store_dir, valid_marker
    from envr.store.gc import collect
    from envr.store.layout import foreign_line

    store = store_dir()
    age = gens.parse_age(older_than) if older_than else None
    if not dry_run:
        for file in gens.prune_dead():
            say(f"dropped the generations of {file} (its directory is gone)")
        if age is not None:
            dropped = gens.drop_older_than(age) + profile.drop_older_than(age)
            say(f"dropped {dropped} generation{'s' if dropped != 1 else ''} older than {older_than}")
    roots_of = (lambda: _roots_after_drops(age)) if dry_run else (lambda: gens.roots() | profile.roots())
    result = collect(store, roots_of, dry_run=dry_run, say=say)
    if dry_run:
        for p in result.paths + result.leftovers:
            typer.echo(p)
        for p in result.markers:
            typer.echo(valid_marker(p))
    if result.foreign:
        say(foreign_line(store, result.foreign))
    for p in result.busy:
        say(f"kept {p}: processes of an interrupted build still hold it")
    if result.unsure:
        kept = _plural(len(result.unsure), "store path")
        say(f"kept {kept} marked valid and in use but not registered; run envr store repair")
    if result.outside:
        rows = _plural(result.outside, "registry row")
        say(f"{rows} name paths outside {store} (was the store moved?); run envr store repair")
    what = "would delete" if dry_run else "deleted"
    extra = []
    if result.leftovers:
        extra.append(_plural(len(result.leftovers), "leftover") + " of interrupted work")
    if result.markers:
        extra.append(_plural(len(result.markers), "stale marker"))
    also = f" and {' and '.join(extra)}" if extra else ""
    say(f"{what} {_plural(len(result.paths), 'store path')}{also}, {size(result.bytes)} freed; {result.live} kept")
