"""Commands around entering a project: the hook, export, allow/deny, status, exec."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from envr.cli.app import app, approve, project_file, say
from envr.errors import EnvrError, NoProjectError
from envr.project.file import FILENAME, find_project_file, logical_cwd
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
    """What is active here, whether it is trusted, and what it sets (writes nothing, builds nothing)."""
    from envr.prompt.status import report

    for line in report(os.environ, logical_cwd()):
        typer.echo(line)


@app.command(rich_help_panel=PANEL, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec(
    directory: Annotated[str, typer.Argument(help="a directory inside the project")],
    command: Annotated[list[str], typer.Argument(help="the command and its arguments, after --")],
    trust_it: Annotated[
        bool, typer.Option("--trust", help="approve the project file as it is now first (CI checkouts)")
    ] = False,
) -> None:
    """Run COMMAND with DIR's environment (its packages realised from envr.lock), without a hook."""
    from envr.prompt.entry import run

    if not command:
        raise EnvrError("give the command to run after --: envr exec DIR -- CMD ARGS...")
    if not os.path.isdir(directory):
        raise EnvrError(f"{directory}: not a directory")
    start = os.path.abspath(directory)
    file = find_project_file(start)
    if file is None:
        raise NoProjectError(f"no {FILENAME} at or above {start} (envr init writes one)")
    if trust_it:
        approve(file)  # refuses a file that would not load
    if trust.check(file, trust.content_hash(file)).allowed:
        from envr.project.packages import sync as sync_packages
        from envr.trust.allow import approved

        project, lock = approved(file)
        if project.packages:  # realise now, failing loudly, rather than run CMD without its tools
            sync_packages(project, os.environ, say, lock_content=lock)
    outcome, _ = run(os.environ, start)  # records the generation: a gc root, as entering does
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
