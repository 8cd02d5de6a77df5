"""Commands around entering a project: the hook, export, allow/deny, status, exec."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from envr.cli.app import app, approve, project_file, say
from envr.errors import EnvrError, NoProjectError
from envr.project.file import FILENAME, find_project_file, logical_cwd
from envr.project.load import load
from envr.trust import approvals as trust

PANEL = "Entering a project"


@app.command(rich_help_panel=PANEL)
def hook(shell: Annotated[str, typer.Argument(help="bash, zsh or fish")]) -> None:
    """Print the prompt hook; add `eval "$(envr hook bash)"` to ~/.bashrc (zsh alike, fish: `| source`)."""
    from envr.shells import HOOK_SHELLS
    from envr.shells.hooktext import hook_text

    if shell not in HOOK_SHELLS:
        raise EnvrError(f"unknown shell {shell!r}; envr hooks into {', '.join(HOOK_SHELLS)}")
    sys.stdout.write(hook_text(shell))


@app.command(rich_help_panel=PANEL)
def export(fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="bash|zsh|fish|json|dotenv")]) -> None:
    """Print what the current directory's environment changes (normally run by the hook)."""
    from envr.prompt.entry import main as export_main

    raise typer.Exit(export_main([fmt]))


@app.command(rich_help_panel=PANEL)
def allow(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Trust the project file's current content (and its envr.lock)."""
    file = project_file(path)
    approve(file)  # refuses a file that would not load
    say(f"allowed {file}")


@app.command(rich_help_panel=PANEL)
def deny(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Revoke trust in the project file; a loaded environment is reverted at the next prompt."""
    file = project_file(path)
    trust.deny(file)
    say(f"denied {file}")


@app.command(rich_help_panel=PANEL)
def prune() -> None:
    """Forget approvals of project files that no longer exist, and generations of deleted project directories."""
    from envr.history import generations

    dropped = trust.prune()
    for path in dropped:
        typer.echo(f"dropped approval of {path}")
    gone = generations.prune_dead()
    for path in gone:
        typer.echo(f"dropped generations of {path}")
    say(
        f"pruned {len(dropped)} approval{'s' if len(dropped) != 1 else ''}"
        f" and the generations of {len(gone)} project{'s' if len(gone) != 1 else ''}"
    )


@app.command(rich_help_panel=PANEL)
def status() -> None:
    """What is active here, whether it is trusted, and what it sets."""
    from envr.prompt.core import compute
    from envr.prompt.state import STATE_VAR, State

    pwd = logical_cwd()
    loaded = State.decode(os.environ.get(STATE_VAR))
    if loaded is None:
        typer.echo("loaded: nothing")
    else:
        typer.echo(f"loaded: {loaded.root} ({loaded.file})")
    outcome = compute(os.environ, pwd)
    file = find_project_file(pwd)
    if file is None:
        typer.echo(f"project: none ({FILENAME} not found at or above {pwd})")
        return
    typer.echo(f"project: {os.path.dirname(file)}")
    verdict = outcome.verdict
    typer.echo(f"trust: {verdict.state if verdict else 'unknown'}")
    if outcome.error is not None:
        typer.echo(f"error: {outcome.error}")
    elif verdict is not None and not verdict.allowed:
        typer.echo("blocked: run 'envr allow' after reviewing the file")
        if verdict.state == trust.CHANGED:
            from envr.trust.changes import changes_since_approved

            changed = changes_since_approved(file)
            if changed:
                typer.echo(f"changed since allowed: {changed}")
    if outcome.project is not None:
        p = outcome.project
        for name, value in p.env.items():
            shown = "unset" if value is None else repr(outcome.target.get(name, ""))
            typer.echo(f"  {name}: {shown}   (env.{name} in {FILENAME})")
        for key, items in (("prepend", p.prepend), ("append", p.append)):
            for item in items:
                typer.echo(f"  PATH {key}: {item}")
        _status_generation(p.file)
    if outcome.delta:
        pending = ", ".join(sorted(k for k in outcome.delta if k != STATE_VAR)) or "state only"
        typer.echo(f"pending at next prompt: {pending}")


def _status_generation(file: str) -> None:
    from envr.history import generations

    latest, pin = generations.active(file, trust.content_hash(file))
    if pin is not None:
        typer.echo(f"generation: pinned older generation {pin} (latest {latest}); envr sync returns to the latest")
    elif latest:
        typer.echo(f"generation: {latest} (latest)")


@app.command(rich_help_panel=PANEL, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec(
    directory: Annotated[str, typer.Argument(help="a directory inside the project")],
    command: Annotated[list[str], typer.Argument(help="the command and its arguments, after --")],
    trust_it: Annotated[
        bool, typer.Option("--trust", help="approve the project file as it is now first (CI checkouts)")
    ] = False,
) -> None:
    """Run COMMAND with DIR's environment (its packages realised from envr.lock), without a hook."""
    from envr.prompt.core import compute

    if not command:
        raise EnvrError("give the command to run after --: envr exec DIR -- CMD ARGS...")
    if not os.path.isdir(directory):
        raise EnvrError(f"{directory}: not a directory")
    start = os.path.abspath(directory)
    file = find_project_file(start)
    if file is None:
        raise NoProjectError(f"no {FILENAME} at or above {start}")
    if trust_it:
        approve(file)  # refuses a file that would not load
    if trust.check(file, trust.content_hash(file)).allowed:
        project = load(file)
        if project.packages:  # realise now, failing loudly, rather than run CMD without its tools
            from envr.project.packages import sync as sync_packages

            sync_packages(project, os.environ, say)
    outcome = compute(os.environ, start)
    if outcome.error is not None:
        raise outcome.error
    if outcome.verdict is not None and not outcome.verdict.allowed:
        raise EnvrError(f"{outcome.verdict.state}: {find_project_file(start)}; run 'envr allow' to trust it")
    env = outcome.target
    from envr.store import store_dir
    from envr.store.gc import hold_across_exec

    hold_across_exec(store_dir(), env.get("PATH", ""))  # gc keeps CMD's packages while CMD runs
    try:
        os.execvpe(command[0], command, env)
    except OSError as e:
        from envr.services.shell import command_error

        raise command_error(command[0], e) from None
