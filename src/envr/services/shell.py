"""envr shell -p: a throwaway environment with some packages on top of the current one.

    envr shell -p pypi:cowsay==6.1 -p npm:cowsay@1.6.0 [-- CMD ARGS...]

The specs become an in-memory [packages] table (nothing is written to a project or a profile), realised in
the store like any project's packages (reused when present). Their paths are held as temporary gc roots
(store.roots.hold) from before the realise until the shell or command exits, and not a moment longer, so a
later `envr gc` may collect them. The child gets the current environment (inside a project: the project's)
with the packages' bin dirs first on PATH and their names in ENVR_SHELL_PACKAGES for a prompt to show;
leaving is simply the child exiting, so the caller's environment is exactly as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.project.file import Project

MARKER = "ENVR_SHELL_PACKAGES"
SOURCE_NAME = "envr shell -p"  # stands in for the project file in messages


def table_of(specs: list[str], cwd: str) -> dict[str, Any]:
    """`-p` specs -> a [packages] table, each named as `envr add` names it unless NAME= comes first."""
    from envr.project import cli_specs

    return {p.name: p.entry for p in cli_specs.parse_all(specs, cwd)}


def _project(table: dict[str, Any], cwd: str) -> Project:
    """An in-memory project holding only the -p packages: relative paths resolve against cwd, but the
    envr.lock of a project in cwd is not this table's lock (it would call it stale)."""
    from envr.project.file import LOCKNAME, Project

    class Throwaway(Project):
        __slots__ = ()

        @property
        def lock_file(self) -> str:
            return os.path.join(self.root, ".envr-shell-p-has-no-lock", LOCKNAME)

    return Throwaway(cwd, SOURCE_NAME, b"", {}, (), (), table)


def run(specs: list[str], command: list[str], environ: Mapping[str, str], cwd: str) -> int:
    """Realise the packages, run command (or $SHELL) with them on PATH, and return its exit status."""
    from envr.progress import Reporter
    from envr.project.packages import resolve, specs_of, sync, view
    from envr.store import roots, store_dir

    if not specs:
        raise EnvrError("give at least one package: envr shell -p SPEC [-p SPEC...] [-- CMD ARGS...]")
    project = _project(table_of(specs, cwd), cwd)
    store = store_dir()
    resolved = resolve(specs_of(project), store)
    with roots.hold(store, [r.path for r in resolved.values()]):  # rooted before realising: gc cannot race us
        import time

        reporter = Reporter()
        started = time.monotonic()
        _, built = sync(project, environ, reporter.say, progress=reporter.transfer)  # raises, naming what failed
        if built:
            reporter.say(f"synced {', '.join(built)} in {time.monotonic() - started:.1f}s")
        seen = view(project, environ)
        if seen.missing:
            raise EnvrError(f"could not realise {', '.join(seen.missing)}")
        bins = seen.bins
        env = dict(environ)
        env["PATH"] = os.pathsep.join([*bins, *([environ["PATH"]] if environ.get("PATH") else [])])
        names = " ".join(resolved)
        env[MARKER] = f"{environ[MARKER]} {names}" if environ.get(MARKER) else names
        argv = command or [environ.get("SHELL") or "/bin/sh"]
        return _run(argv, env)


def _run(argv: list[str], env: dict[str, str]) -> int:
    """Run argv and wait; a child killed by signal N gives 128+N, as shells report it."""
    try:
        proc = subprocess.Popen(argv, env=env)
    except OSError as e:
        raise command_error(argv[0], e) from None

    def forward(signum: int, frame: object) -> None:
        proc.send_signal(signum)

    # Ctrl-C belongs to the child (an interactive shell handles it); termination is passed on to it.
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGQUIT: signal.signal(signal.SIGQUIT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        code = proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def command_error(name: str, e: OSError) -> EnvrError:
    """CMD could not start: exit 127 when it was not found, 126 when it was found but cannot run, as shells do
    (`envr shell -p ... -- CMD` and `envr exec DIR -- CMD`)."""
    import errno

    not_found = e.errno in (errno.ENOENT, errno.ENOTDIR)
    error = EnvrError(f"cannot run {name!r}: {'command not found' if not_found else e.strerror}")
    error.exit_code = 127 if not_found else 126
    return error
