"""`envr outdated`: what `envr lock --upgrade` would change, resolved into a lock that is never written.

Resolving asks the registries and may run a PyPI sdist's build backend, which is code: the caller refuses a
project that is not allowed before getting here. envr.toml, envr.lock, approvals and the store stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from envr.errors import EnvrError
from envr.project.listing import read_lock_file
from envr.project.load import load
from envr.project.lockfile import LockError
from envr.team.lock import changes, make


def outdated(project_file: str, names: list[str], environ: Mapping[str, str], say: Callable[[str], None]) -> list[str]:
    """The lines `envr lock --upgrade [NAME...]` would print, without writing anything."""
    project = load(project_file)
    unknown = sorted(set(names) - project.packages.keys())
    if unknown:
        raise EnvrError(f"no package {unknown[0]!r} in {project_file}")
    try:  # as `envr lock` reads it: a stale lock is compared with, an unreadable one is not
        previous = read_lock_file(project.lock_file)
    except LockError as e:
        say(f"{e}: comparing with no lock")
        previous = None
    new = make(project, environ, previous, set(names), say)
    return changes(previous, new)
