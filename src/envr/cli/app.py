"""The typer app and what every command shares: finding the project file a command acts on, and saying things.

Commands live in one module per group (activation, packages, store, history, services); each is a thin layer:
parse arguments, call the core, print.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr import __version__
from envr.errors import EnvrError, NoProjectError, NotTrustedError
from envr.project.file import FILENAME, find_project_file, logical_cwd
from envr.trust import approvals as trust

app = typer.Typer(
    name="envr",
    help="Per-project environments: variables, PATH and pinned tools, applied on cd and reverted on leave.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def say(message: str) -> None:
    typer.echo(f"envr: {message}", err=True)


def project_file(path: str | None) -> str:
    """The project file a command acts on: PATH (a file or a directory) or the nearest one above $PWD."""
    start = os.path.abspath(path) if path else logical_cwd()
    if path and os.path.isfile(start):
        return start
    if path and not os.path.exists(start):
        raise EnvrError(f"{path}: no such file or directory")
    found = find_project_file(start)
    if found is None:
        raise NoProjectError(f"no {FILENAME} at or above {start}")
    return found


def approve(file: str) -> None:
    from envr.trust.allow import allow

    allow(file)


def require_allowed(file: str) -> None:
    verdict = trust.check(file, trust.content_hash(file))
    if not verdict.allowed:
        raise NotTrustedError(f"{file} is {verdict.state}; run 'envr allow' to trust it")


def allowed_file(path: str | None) -> tuple[str, str]:
    file = project_file(path)
    digest = trust.content_hash(file)
    if not trust.check(file, digest).allowed:
        raise NotTrustedError(f"{file} is not allowed; run 'envr allow' to trust it")
    return file, digest


def when(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"envr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """envr gives every project directory its own environment."""
