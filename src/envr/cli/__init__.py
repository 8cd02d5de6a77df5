"""The typer CLI: parse arguments, call the core, print. No logic of its own."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from envr import __version__
from envr.errors import EnvrError, NoProjectError, NotTrustedError
from envr.fsutil import write_atomic
from envr.project.file import FILENAME, Project, find_project_file, load, logical_cwd
from envr.trust import approvals as trust

app = typer.Typer(
    name="envr",
    help="Per-project environments: variables, PATH and pinned tools, applied on cd and reverted on leave.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _say(message: str) -> None:
    typer.echo(f"envr: {message}", err=True)


def _project_file(path: str | None) -> str:
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


@app.command()
def hook(shell: Annotated[str, typer.Argument(help="bash, zsh or fish")]) -> None:
    """Print the prompt hook; add `eval "$(envr hook bash)"` to ~/.bashrc (zsh alike, fish: `| source`)."""
    from envr.shells import HOOK_SHELLS
    from envr.shells.hooktext import hook_text

    if shell not in HOOK_SHELLS:
        raise EnvrError(f"unknown shell {shell!r}; envr hooks into {', '.join(HOOK_SHELLS)}")
    sys.stdout.write(hook_text(shell))


@app.command()
def export(fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="bash|zsh|fish|json|dotenv")]) -> None:
    """Print what the current directory's environment changes (normally run by the hook)."""
    from envr.prompt.entry import main as export_main

    raise typer.Exit(export_main([fmt]))


@app.command()
def allow(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Trust the project file's current content (and its envr.lock)."""
    file = _project_file(path)
    _approve(file)  # refuses a file that would not load
    _say(f"allowed {file}")


def _approve(file: str) -> None:
    from envr.team.edit import approve

    approve(file)


@app.command()
def deny(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Revoke trust in the project file; a loaded environment is reverted at the next prompt."""
    file = _project_file(path)
    trust.deny(file)
    _say(f"denied {file}")


@app.command()
def prune() -> None:
    """Forget approvals of project files that no longer exist, and generations of deleted project directories."""
    from envr.history import generations

    dropped = trust.prune()
    for path in dropped:
        typer.echo(f"dropped approval of {path}")
    gone = generations.prune_dead()
    for path in gone:
        typer.echo(f"dropped generations of {path}")
    _say(
        f"pruned {len(dropped)} approval{'s' if len(dropped) != 1 else ''}"
        f" and the generations of {len(gone)} project{'s' if len(gone) != 1 else ''}"
    )


@app.command()
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
            from envr.project.lockfile import changes_since_approved

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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec(
    directory: Annotated[str, typer.Argument(help="a directory inside the project")],
    command: Annotated[list[str], typer.Argument(help="the command and its arguments, after --")],
    trust_it: Annotated[
        bool, typer.Option("--trust", help="approve the project file as it is now first (CI checkouts)")
    ] = False,
) -> None:
    """Run COMMAND with DIR's environment (its packages realised from envr.lock), without a hook."""
    from envr.prompt.core import compute

    if not os.path.isdir(directory):
        raise EnvrError(f"{directory}: not a directory")
    start = os.path.abspath(directory)
    file = find_project_file(start)
    if file is None:
        raise NoProjectError(f"no {FILENAME} at or above {start}")
    if trust_it:
        _approve(file)  # refuses a file that would not load
    if trust.check(file, trust.content_hash(file)).allowed:
        project = load(file)
        if project.packages:  # realise now, failing loudly, rather than run CMD without its tools
            from envr.project.packages import sync as sync_packages

            sync_packages(project, os.environ, _say)
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
        raise EnvrError(f"cannot run {command[0]!r}: {e.strerror}") from None


@app.command()
def sync(path: Annotated[str | None, typer.Argument(help="envr.toml or its directory")] = None) -> None:
    """Realise every package of the project into the store (independent ones in parallel)."""
    import time

    from envr.project.packages import sync as sync_packages

    file = _project_file(path)
    _require_allowed(file)
    project = load(file)
    started = time.monotonic()
    from envr.progress import Reporter

    reporter = Reporter()
    resolved, built = sync_packages(project, os.environ, reporter.say, progress=reporter.transfer)
    _record_generation(file)
    for name, r in resolved.items():
        typer.echo(f"{name}\t{'built' if name in built else 'present'}\t{r.path}")
    n = len(resolved)
    _say(
        f"synced {n} package{'s' if n != 1 else ''} ({len(built)} built, {n - len(built)} already in the store)"
        f" in {time.monotonic() - started:.1f}s"
    )


def _require_allowed(file: str) -> None:
    verdict = trust.check(file, trust.content_hash(file))
    if not verdict.allowed:
        raise NotTrustedError(f"{file} is {verdict.state}; run 'envr allow' to trust it")


@app.command()
def watch(
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="At most this many builds at once.")] = 2,
    debounce: Annotated[
        float, typer.Option(min=0.0, help="Seconds a project's files must stay quiet before it is realised.")
    ] = 1.0,
    show_status: Annotated[
        bool, typer.Option("--status", help="Whether a watcher runs, what it watches, what it last did.")
    ] = False,
    print_service: Annotated[
        bool, typer.Option("--print-service", help="Print a systemd user unit (or, with KIND launchd, a plist).")
    ] = False,
    kind: Annotated[str, typer.Argument(metavar="[KIND]", help="with --print-service: systemd or launchd")] = "systemd",
) -> None:
    """Realise approved projects' packages in the background whenever their envr.toml or envr.lock changes."""
    from envr.services import watch as watcher

    if show_status:
        text, running = watcher.status_text()
        typer.echo(text)
        raise typer.Exit(0 if running else 3)
    if print_service:
        sys.stdout.write(watcher.service_text(kind, os.environ))
        return
    if kind != "systemd":
        raise EnvrError(f"unexpected argument {kind!r}; did you mean --print-service {kind}?")
    watcher.watch(jobs, debounce, os.environ)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def shell(
    package: Annotated[
        list[str], typer.Option("--package", "-p", help="pypi:REQ, npm:NAME@VERSION or path:DIR (repeatable).")
    ],
    command: Annotated[list[str] | None, typer.Argument(help="a command to run instead of $SHELL, after --")] = None,
) -> None:
    """A throwaway environment with these packages on top of the current one; nothing is written anywhere."""
    from envr.services.shell import run as run_shell

    raise typer.Exit(run_shell(package, command or [], os.environ, logical_cwd()))


# --- the lock, editing envr.toml, and team/CI helpers (envr.lockfile, envr.edit) -------------------------------


@app.command("lock")
def lock_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="with --upgrade: the packages to re-resolve")] = None,
    check: Annotated[bool, typer.Option("--check", help="exit 1, with a diff, if envr.lock does not match")] = False,
    upgrade: Annotated[bool, typer.Option("--upgrade", help="re-resolve NAMEs (default: all), show changes")] = False,
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
) -> None:
    """Write envr.lock: each package's exact resolution, so every clone installs the same artifacts."""
    from envr.project import lockfile

    file = _project_file(path)
    project = load(file)
    wanted = set(names or [])
    if wanted and not upgrade:
        raise EnvrError("package names go with --upgrade (envr lock --upgrade NAME...)")
    unknown = sorted(wanted - project.packages.keys())
    if unknown:
        raise EnvrError(f"no package {unknown[0]!r} in {file}")
    if check:
        problems = lock_problems(project)
        if problems:
            typer.echo(f"{project.lock_file} does not match {file}:")
            for line in problems:
                typer.echo(f"  {line}")
            _say("run envr lock to update it")
            raise typer.Exit(1)
        _say(f"{project.lock_file} matches {FILENAME}")
        return
    try:
        previous = lockfile.read(project.lock_file)
    except lockfile.LockError as e:
        _say(f"{e}: rewriting it")
        previous = None
    was_allowed = trust.check(file, trust.content_hash(file)).allowed
    new = lockfile.make(project, os.environ, previous, wanted if upgrade else None, _say)
    text = lockfile.render(new)
    try:
        with open(project.lock_file, encoding="utf-8") as f:
            unchanged = f.read() == text
    except OSError:
        unchanged = False
    if unchanged:
        _say(f"{project.lock_file} is up to date")
        return
    write_atomic(project.lock_file, text)
    for line in lockfile.changes(previous, new):
        typer.echo(line)
    if was_allowed:  # the user re-locked it themselves: keep the project allowed
        _approve(file)
    _say(f"wrote {project.lock_file}")


def lock_problems(project: Project) -> list[str]:
    """Why envr.lock does not match envr.toml (empty: it matches). No network: a check, not a resolve."""
    from envr.project import lockfile
    from envr.project.packages import specs_of

    try:
        lock = lockfile.read(project.lock_file)
    except lockfile.LockError as e:
        return [str(e)]
    problems = lockfile.differences(project.packages, lock)
    if lock is None:
        return problems
    for spec in specs_of(project):
        locked = lock.packages.get(spec.name)
        if locked is not None and locked.get("entry") == lockfile.entry_text(project.packages[spec.name]):
            try:
                lockfile.check_entry(spec, locked)
            except EnvrError as e:
                problems.append(f"~ {spec.name}: {str(e).split(': ', 1)[1]}")
    if not problems and lock.packages_hash != lockfile.section_hash(project.packages):
        problems.append("packages_hash does not match [packages]")
    return problems


@app.command()
def init(directory: Annotated[str, typer.Argument(help="where to write envr.toml")] = ".") -> None:
    """Write a commented starter envr.toml (never overwrites one) and allow it."""
    from envr.team.edit import init as init_project

    _say(f"wrote and allowed {init_project(directory)}")


@app.command()
def add(
    specs: Annotated[list[str], typer.Argument(help="pypi:REQUIREMENT or npm:NAME[@VERSION]")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
) -> None:
    """Add packages to envr.toml (pinning unpinned ones), update envr.lock and realise them."""
    from envr.team.edit import add as add_packages

    file = _project_file(path)
    for line in add_packages(file, specs, os.environ, _say):
        typer.echo(line)


@app.command()
def remove(
    names: Annotated[list[str], typer.Argument(help="package names in [packages]")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
) -> None:
    """Remove packages from envr.toml and envr.lock."""
    from envr.team.edit import remove as remove_packages

    file = _project_file(path)
    remove_packages(file, names, os.environ, _say)
    _say(f"removed {', '.join(names)} from {file}")


git_hook_app = typer.Typer(help="Git hooks for teams.", no_args_is_help=True)
app.add_typer(git_hook_app, name="git-hook")


@git_hook_app.command("install")
def git_hook_install(
    force: Annotated[bool, typer.Option("--force", help="replace an existing, different pre-commit hook")] = False,
) -> None:
    """Install the pre-commit hook that refuses a commit whose envr.lock does not match envr.toml."""
    from envr.team.edit import install_git_hook

    _say(f"installed {install_git_hook(logical_cwd(), force)}")


store_app = typer.Typer(help="The shared store of realised packages.", no_args_is_help=True)
app.add_typer(store_app, name="store")


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

    project = load(_project_file(path))
    store = store_dir()
    resolved = resolve(specs_of(project), store, None, lock_of(project))
    if name not in resolved:
        raise EnvrError(f"no package {name!r} in {project.file}")
    typer.echo(resolved[name].path)
    if not registry.valid(store, [resolved[name].path]):
        _say(f"{name} is not realised; run envr sync")


@store_app.command("verify")
def store_verify() -> None:
    """Re-hash every store path; report corrupted or missing ones (exit 1 if any)."""
    from envr.store import store_dir
    from envr.store.verify import verify

    checked, problems = verify(store_dir())
    for p in problems:
        typer.echo(f"{p.path}: {p.what}")
    _say(f"verified {checked} store path{'s' if checked != 1 else ''}: {len(problems)} bad")
    if problems:
        raise typer.Exit(1)


@store_app.command("rm")
def store_rm(path: Annotated[str, typer.Argument(help="a store path")]) -> None:
    """Remove a store path (refused while another valid path references it)."""
    from envr.store import store_dir
    from envr.store.verify import remove

    remove(store_dir(), path)
    _say(f"removed {os.path.abspath(path)}")


# ---- generations, the profile and gc ----


def _status_generation(file: str) -> None:
    from envr.history import generations

    latest, pin = generations.active(file, trust.content_hash(file))
    if pin is not None:
        typer.echo(f"generation: pinned older generation {pin} (latest {latest}); envr sync returns to the latest")
    elif latest:
        typer.echo(f"generation: {latest} (latest)")


def _record_generation(file: str) -> None:
    """After a sync: end any pin and record the project's environment as a generation (it is then a gc root)."""
    from envr.history import generations
    from envr.prompt.core import compute

    if generations.unpin(file):
        _say("unpinned: the project runs its latest environment again")
    compute(os.environ, os.path.dirname(file))


def _allowed_file(path: str | None) -> tuple[str, str]:
    file = _project_file(path)
    digest = trust.content_hash(file)
    if not trust.check(file, digest).allowed:
        raise NotTrustedError(f"{file} is not allowed; run 'envr allow' to trust it")
    return file, digest


def _when(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


@app.command()
def generations(
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
    delete: Annotated[list[int] | None, typer.Option("--delete", help="delete generation N (repeatable)")] = None,
    keep_last: Annotated[int | None, typer.Option("--keep-last", help="delete all but the last K")] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="delete those older than (30d)")] = None,
    numbers: Annotated[list[int] | None, typer.Argument(help="with --delete: more numbers")] = None,
) -> None:
    """List the project's generations (marking the current one), or delete some; never the current one."""
    from envr.history import generations as gens

    file, digest = _allowed_file(path)
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
        _say(f"deleted {len(done)} generation{'s' if len(done) != 1 else ''}" + (f": {_nums(done)}" if done else ""))
        return
    rows = gens.listing(file, digest)
    if not rows:
        _say(f"{file} has no generations yet (entering it or envr sync records one)")
        return
    for n, t, mark, change in rows:
        typer.echo(f"{n:>4}  {_when(t)}  {change}" + (f"   ({mark})" if mark else ""))


def _nums(ns: list[int]) -> str:
    return ", ".join(str(n) for n in ns)


@app.command()
def rollback(path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None) -> None:
    """Make the generation before the active one active now (no download, no build), until envr sync or an edit."""
    from envr.history import generations as gens

    file, digest = _allowed_file(path)
    pin = gens.rollback(file, digest)
    _say(f"rolled back to generation {pin}; it shows at the next prompt (envr sync returns to the latest)")


@app.command("switch-generation")
def switch_generation(
    number: Annotated[int, typer.Argument(help="a generation number (see envr generations)")],
    path: Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")] = None,
) -> None:
    """Make generation N active now (no download, no build), until envr sync or an edit of the project file."""
    from envr.history import generations as gens

    file, digest = _allowed_file(path)
    pin = gens.switch(file, digest, number)
    if pin is None:
        _say(f"switched to generation {number}, the latest; it shows at the next prompt")
    else:
        _say(f"switched to generation {number}; it shows at the next prompt (envr sync returns to the latest)")


profile_app = typer.Typer(help="Tools in every hooked shell: the user profile.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")


def _profile_result(n: int, new: bool) -> None:
    _say(f"profile generation {n}" + (" (new)" if new else " (reused)") + "; on PATH in every hooked shell")


@profile_app.command("install")
def profile_install(specs: Annotated[list[str], typer.Argument(help="pypi:REQ, npm:NAME@VER or path:DIR")]) -> None:
    """Add tools to the profile (a new profile generation, or one you already have)."""
    from envr.history import profile

    _profile_result(*profile.install(specs, os.environ, _say))


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
        typer.echo(f"{n:>4}  {_when(t)}  {gens.summary(before, data)}" + ("   (current)" if n == now else ""))
        before = data


@profile_app.command("rollback")
def profile_rollback() -> None:
    """Switch the profile to the generation before the current one."""
    from envr.history import profile

    _say(f"profile rolled back to generation {profile.rollback()}")


@profile_app.command("switch-generation")
def profile_switch(number: Annotated[int, typer.Argument(help="a profile generation number")]) -> None:
    """Switch the profile to generation N."""
    from envr.history import profile

    _say(f"profile switched to generation {profile.switch(number)}")


@app.command()
def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be deleted")] = False,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="first drop generations older than this (30d)")
    ] = None,
) -> None:
    """Delete every store path no generation, profile or running envr uses; print the count and bytes freed."""
    from envr.history import generations as gens
    from envr.history import profile
    from envr.store import store_dir
    from envr.store.gc import collect

    age = gens.parse_age(older_than) if older_than else None
    if not dry_run:
        for file in gens.prune_dead():
            _say(f"dropped the generations of {file} (its directory is gone)")
        if age is not None:
            dropped = gens.drop_older_than(age) + profile.drop_older_than(age)
            _say(f"dropped {dropped} generation{'s' if dropped != 1 else ''} older than {older_than}")
    result = collect(store_dir(), gens.roots() | profile.roots(), dry_run=dry_run)
    if dry_run:
        for p in result.paths:
            typer.echo(p)
    size = _bytes(result.bytes)
    n = len(result.paths)
    what = "would delete" if dry_run else "deleted"
    _say(f"{what} {n} store path{'s' if n != 1 else ''}, {size} freed; {result.live} kept")


def _bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def run() -> None:
    """typer reports usage errors itself; envr's own errors become one line and an exit code."""
    try:
        app()
    except EnvrError as e:
        _say(str(e))
        sys.exit(e.exit_code)
    except Exception as e:
        if os.environ.get("ENVR_DEBUG") == "1":
            raise
        _say(f"internal error: {type(e).__name__}: {e} (ENVR_DEBUG=1 shows more)")
        sys.exit(70)
