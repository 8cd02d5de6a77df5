"""What a project's packages are, read without changing anything: `envr ls` and completion.

Everything here reads: envr.toml, envr.lock (parsed directly, not through the prompt's parse cache), the store
registry (read-only). Nothing is resolved against a registry, realised, built or written. The one exception is
not ours: a `path` package's content hash is remembered by its source in the cache dir, as the prompt does.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.fsutil import read_regular
from envr.project.file import FILENAME, Project, find_project_file
from envr.project.lockfile import Lock, LockError, entry_text, label, parse, section_hash
from envr.project.packages import resolve, specs_of, valid_package_name
from envr.store import registry
from envr.store.sources import source_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from envr.store.sources.base import PackageSpec


class Row:
    """One package as `envr ls` shows it."""

    __slots__ = ("kind", "locked", "name", "path", "problem", "realised", "version")

    def __init__(
        self,
        name: str,
        kind: str,
        version: str,
        path: str | None,
        realised: bool,
        locked: str | None = None,
        problem: str | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.version = version  # what envr.toml asks for ("unpinned" when it pins nothing)
        self.path = path  # the store path it resolves to (None: it cannot be named, see problem)
        self.realised = realised
        self.locked = locked  # the version (or hash prefix) envr.lock pins, if it pins this package
        self.problem = problem

    @property
    def state(self) -> str:
        if self.path is None:
            return "unavailable"
        return "realised" if self.realised else "missing"


def read_lock_file(path: str) -> Lock | None:
    """The lock at path (None: there is none), parsed here and uncached: a reader must write nothing, not even
    the prompt's parse cache. Raises LockError for a lock that cannot be read."""
    try:
        content = read_regular(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise LockError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return parse(content.decode("utf-8"), path)
    except UnicodeDecodeError:
        raise LockError(f"{path}: not valid UTF-8; run envr lock to rewrite it") from None


STALE = "{} is stale ([packages] changed since it was written); run envr lock"


def read_lock(project: Project) -> tuple[Lock | None, str | None]:
    """The project's lock if it can be used, else None and why (unreadable, or stale: envr.toml changed)."""
    try:
        lock = read_lock_file(project.lock_file)
    except LockError as e:
        return None, str(e)
    if lock is not None and lock.packages_hash != section_hash(project.packages, project.platforms):
        return None, STALE.format(project.lock_file)
    return lock, None


def project_rows(project: Project, environ: Mapping[str, str]) -> tuple[list[Row], str | None]:
    """Every package of the project, in file order, and a note about the lock (None: nothing to say).

    A stale lock names no store paths (the prompt refuses it), but its entries that still match envr.toml
    still show what they pin."""
    from envr.store import store_dir

    specs = specs_of(project)
    asked = {s.name: _asked(s) for s in specs}  # before the lock is attached
    try:
        written, note = read_lock_file(project.lock_file), None
    except LockError as e:
        written, note = None, str(e)
    lock = written
    if written is not None and written.packages_hash != section_hash(project.packages, project.platforms):
        lock, note = None, STALE.format(project.lock_file)
    store = store_dir(environ)
    failed: dict[str, str] = {}
    resolved = resolve(specs, store, failed, lock)
    valid = registry.valid(store, [r.path for r in resolved.values()])
    rows = []
    for spec in specs:
        entry = written.packages.get(spec.name) if written is not None else None
        fits = entry is not None and entry.get("entry") == entry_text(project.packages[spec.name])
        locked = label(entry) if fits else None
        r = resolved.get(spec.name)
        if r is None:
            rows.append(Row(spec.name, spec.kind, asked[spec.name], None, False, locked, failed.get(spec.name)))
        else:
            rows.append(Row(spec.name, spec.kind, asked[spec.name], r.path, r.path in valid, locked))
    return rows, note


def _asked(spec: PackageSpec) -> str:
    """The version envr.toml asks for; a runtime's request as written where naming it would need an index
    that is not downloaded yet (a reader does not download)."""
    try:
        return source_for(spec.kind).version(spec)
    except EnvrError:
        return str(spec.entry.get(spec.kind) or spec.entry.get("version-file") or "?")


def package_names(start: str) -> list[str]:
    """The [packages] names of the project at or above start (a directory, or the project file itself), as
    envr.toml spells them; empty when there is no readable project file. For completion: no validation."""
    import tomllib

    file = start if os.path.basename(start) == FILENAME and os.path.isfile(start) else find_project_file(start)
    if file is None:
        return []
    try:
        data = tomllib.loads(read_regular(file).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, EnvrError):
        return []
    table = data.get("packages")
    if not isinstance(table, dict):
        return []
    return [name for name in table if valid_package_name(name)]
