"""`envr completion bash|zsh|fish`, and what envr's completion offers beyond commands and options.

The script is typer's (the one `--show-completion` prints): the shell runs `envr` with `_ENVR_COMPLETE` set,
and envr answers with candidates. The values completed here come from files only, read and never written: the
project's [packages] names from envr.toml, generation numbers from the generations directory. No lock
resolution, no store, no build, no network.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer import _click

from envr.cli.app import app, completes
from envr.errors import EnvrError
from envr.shells import HOOK_SHELLS

PANEL = "Entering a project"
SHELLS = HOOK_SHELLS  # completion exists for exactly the shells envr hooks into
EXPORT_FORMATS = (*HOOK_SHELLS, "json", "dotenv", "github")
SERVICE_KINDS = ("systemd", "launchd")


@app.command(rich_help_panel=PANEL)
def completion(shell: Annotated[str, typer.Argument(help="bash, zsh or fish")]) -> None:
    """Print the shell completion script: `source <(envr completion bash)` in ~/.bashrc (zsh alike, after
    compinit; fish: `envr completion fish | source`)."""
    from typer._completion_shared import get_completion_script

    if shell not in SHELLS:
        raise EnvrError(f"unknown shell {shell!r}; envr completes {', '.join(SHELLS)}")
    sys.stdout.write(get_completion_script(prog_name="envr", complete_var="_ENVR_COMPLETE", shell=shell) + "\n")


def _typed(ctx: _click.Context, name: str) -> set[str]:
    """Values already given to a parameter on the command line (offered once only)."""
    value = ctx.params.get(name)
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def _project_start(ctx: _click.Context) -> str:
    from envr.project.file import logical_cwd

    given = ctx.params.get("path")
    return os.path.abspath(given) if isinstance(given, str) and given else logical_cwd()


def _package_names(ctx: _click.Context, incomplete: str) -> list[str]:
    from envr.project.listing import package_names

    return [n for n in package_names(_project_start(ctx)) if n not in _typed(ctx, "names")]


def _generation_numbers(ctx: _click.Context, incomplete: str) -> list[str]:
    from envr.history.generations import numbers, project_dir
    from envr.project.file import find_project_file

    start = _project_start(ctx)
    file = start if os.path.isfile(start) else find_project_file(start)
    if file is None:
        return []
    given = _typed(ctx, "delete") | _typed(ctx, "numbers")
    return [str(n) for n in reversed(numbers(project_dir(file))) if str(n) not in given]


for where in (("remove", "names"), ("store", "path", "name"), ("lock", "names"), ("outdated", "names")):
    completes(*where)(_package_names)
for where in (("switch-generation", "number"), ("generations", "delete"), ("generations", "numbers")):
    completes(*where)(_generation_numbers)


@completes("hook", "shell")
@completes("completion", "shell")
def _shells(ctx: _click.Context, incomplete: str) -> list[str]:
    return list(SHELLS)


@completes("export", "fmt")
def _export_formats(ctx: _click.Context, incomplete: str) -> list[str]:
    return list(EXPORT_FORMATS)


@completes("watch", "kind")
def _service_kinds(ctx: _click.Context, incomplete: str) -> list[str]:
    return list(SERVICE_KINDS)


@completes("profile", "remove", "names")
def _profile_names(ctx: _click.Context, incomplete: str) -> list[str]:
    from envr.history import profile

    return sorted(set(profile.manifest(profile.current())) - _typed(ctx, "names"))


@completes("profile", "switch-generation", "number")
def _profile_numbers(ctx: _click.Context, incomplete: str) -> list[str]:
    from envr.history import profile

    return [str(n) for n in reversed(profile.numbers())]
