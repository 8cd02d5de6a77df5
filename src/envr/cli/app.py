"""The typer app and what every command shares: finding the project file a command acts on, and saying things.

Commands live in one module per group (activation, packages, store, history, services, ...); each is a thin
layer: parse arguments, call the core, print.

The app's group class (EnvrGroup) finishes the command tree once it is built, in one place for every module:
arguments and options read like the rest of the CLI in help and usage (`PATH`, `NAME...`, `--keep-last K`,
flags with no metavar) instead of typer's `<str>` and `<bool>`, and the value completers registered with
`completes()` (see cli/completion.py) are attached to their parameters.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer import _click
from typer.core import HAS_RICH, TyperArgument, TyperGroup, TyperOption

from envr import __version__
from envr.errors import EnvrError, NoProjectError, NotTrustedError
from envr.project.file import FILENAME, find_project_file, logical_cwd
from envr.trust import approvals as trust

# Metavars by parameter name (arguments) and by long option; the rest are named after the parameter.
ARGUMENT_METAVARS = {
    "path": "PATH",
    "directory": "DIR",
    "names": "NAME",
    "name": "NAME",
    "specs": "SPEC",
    "numbers": "N",
    "number": "N",
    "shell": "SHELL",
    "command": "CMD",
}
OPTION_METAVARS = {
    "--project": "PATH",
    "--delete": "N",
    "--keep-last": "K",
    "--older-than": "AGE",
    "--jobs": "N",
    "--debounce": "SECONDS",
    "--package": "SPEC",
    "--format": "TEXT",
}

# (command path..., parameter name) -> completer(ctx, incomplete) -> candidate values. Filled by completes().
Completer = Callable[[_click.Context, str], list[str]]
COMPLETERS: dict[tuple[str, ...], Completer] = {}


def completes(*where: str) -> Callable[[Completer], Completer]:
    """Register a completer for a parameter: completes("store", "path", "name")."""

    def register(fn: Completer) -> Completer:
        COMPLETERS[where] = fn
        return fn

    return register


class _Argument(TyperArgument):
    """An argument shown as click shows one: `NAME` (required), `[NAME]` (optional), `NAME...`; no type."""

    @property
    def display_name_raw(self) -> str:
        return (self.metavar or "") + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return None

    def _rich_display_name(self) -> str:
        return self.display_name_raw

    def _usage_display_name(self) -> str:
        name = self.metavar or ""
        return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")


def _literal(text: str | None) -> str | None:
    """Help text shown as written: rich would take `[packages]` or `[@VERSION]` for markup and drop it."""
    if text is None or not HAS_RICH:
        return text
    return text.replace("\\[", "[").replace("[", "\\[")


def _polish_param(param: _click.Parameter, where: tuple[str, ...]) -> None:
    if isinstance(param, TyperArgument | TyperOption):
        param.help = _literal(param.help)
    if isinstance(param, TyperArgument):
        name = param.name or ""
        given = (param.metavar or "").strip("[]")
        param.metavar = given or ARGUMENT_METAVARS.get(name, name.upper())
        param.__class__ = _Argument
    elif isinstance(param, TyperOption):
        if param.is_flag:
            param.metavar = ""  # a flag takes no value: show none
        elif param.metavar is None:
            longest = max(param.opts, key=len)
            param.metavar = OPTION_METAVARS.get(longest, (param.name or "value").upper())
    completer = COMPLETERS.get((*where, param.name or ""))
    if completer is not None:

        def complete(ctx: _click.Context, _param: _click.Parameter, incomplete: str, fn: Completer = completer) -> Any:
            try:
                values = fn(ctx, incomplete)
            except Exception:  # completion must never print a traceback into the user's command line
                return []
            return [v for v in values if v.startswith(incomplete)]

        param._custom_shell_complete = complete


def _polish(command: _click.Command, where: tuple[str, ...]) -> None:
    """Give every parameter of command (and of its subcommands) its metavar and completer."""
    command.help = _literal(command.help)
    help_option = command.get_help_option(_click.Context(command, info_name=command.name))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        _polish_param(param, where)
    for name, sub in getattr(command, "commands", {}).items():
        _polish(sub, (*where, name))


class EnvrGroup(TyperGroup):
    """The root group: finishes the tree (metavars, completers) right before it parses or completes anything,
    when typer has added every command and its own completion options."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _polish(self, ())
        return super().main(*args, **kwargs)


app = typer.Typer(
    name="envr",
    cls=EnvrGroup,
    help="Per-project environments: variables, PATH and pinned tools, applied on cd and reverted on leave.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion; `envr completion SHELL` prints the same
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
        raise NoProjectError(f"no {FILENAME} at or above {start} (envr init writes one)")
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
