"""`envr lock`: resolving envr.toml's [packages] into envr.lock, checking a lock, and saying what changed.

Resolving runs each source's `lock` (pypi and npm ask their registry; resolving an sdist runs its build
backend, which is code: relock, `envr add` and `envr remove` refuse an unapproved project with require_allowed
before resolving anything). Entries whose envr.toml entry is unchanged keep their resolution unless upgraded,
so a re-lock is quiet and stable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from envr.project.file import Project
from envr.project.lockfile import Lock, LockError, differences, entry_text, label, mismatch, read, section_hash
from envr.store.sources import PackageSpec


def lock_entry(spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
    """Resolve one package exactly (network for pypi and npm registry entries)."""
    from envr.store.sources import source_for

    return {"kind": spec.kind, **source_for(spec.kind).lock(spec, environ)}


def make(
    project: Project,
    environ: Mapping[str, str],
    previous: Lock | None = None,
    upgrade: set[str] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Lock:
    """The project's lock: entries whose envr.toml entry is unchanged are kept from `previous` (no
    re-resolve) unless named in `upgrade` (an empty set: upgrade all)."""
    from envr.project.packages import specs_of
    from envr.store.sources import source_for

    packages: dict[str, dict[str, Any]] = {}
    for spec in specs_of(project):
        text = entry_text(project.packages[spec.name])
        old = previous.packages.get(spec.name) if previous is not None else None
        wanted = upgrade is not None and (not upgrade or spec.name in upgrade)
        resolves = source_for(spec.kind).resolves
        same = old is not None and old.get("entry") == text and old.get("kind") == spec.kind
        if old is not None and same and not wanted and resolves and mismatch(spec, old) is None:  # version files
            packages[spec.name] = old
            continue
        if resolves:
            say(f"resolving {spec.name} ({spec.kind})")
        entry = lock_entry(spec, environ)
        entry["entry"] = text
        packages[spec.name] = entry
    return Lock(section_hash(project.packages, project.platforms), packages)


def changes(old: Lock | None, new: Lock) -> list[str]:
    """What a re-lock changed, one readable line per package."""
    before = old.packages if old is not None else {}
    out = []
    for name in sorted(set(before) | set(new.packages)):
        a, b = before.get(name), new.packages.get(name)
        if a == b:
            continue
        if a is None:
            out.append(f"+ {name} {label(b)}")
        elif b is None:
            out.append(f"- {name} {label(a)}")
        elif label(a) != label(b):
            out.append(f"~ {name} {label(a)} -> {label(b)}")
        elif {k: v for k, v in a.items() if k != "entry"} == {k: v for k, v in b.items() if k != "entry"}:
            out.append(f"~ {name} {label(b)} (envr.toml entry changed, same resolution)")
        else:
            out.append(f"~ {name} {label(b)} (dependencies or hashes changed)")
    return out


def check(project: Project) -> list[str]:
    """Why envr.lock does not match envr.toml (empty: it matches). No network: a check, not a resolve. A lock
    that cannot be read at all raises its LockError (one line naming the file and the fix)."""
    from envr.project.packages import specs_of

    lock = read(project.lock_file)
    problems = differences(project.packages, lock)
    if lock is None:
        return problems
    for spec in specs_of(project):
        locked = lock.packages.get(spec.name)
        if locked is not None and locked.get("entry") == entry_text(project.packages[spec.name]):
            why = mismatch(spec, locked)
            if why is not None:
                problems.append(f"~ {spec.name}: {why}")
    if not problems and lock.packages_hash != section_hash(project.packages, project.platforms):
        problems.append("packages_hash does not match [packages]")
    return problems


def require_allowed(project_file: str, trust: bool = False) -> None:
    """Refuse to resolve an unapproved project: resolving a PyPI sdist or URL requirement runs its build backend,
    which is the project's code (NotTrustedError, exit 3, before anything is read or written). With trust, the
    file is approved as it is now first, as `envr exec --trust` does."""
    from envr.errors import NotTrustedError
    from envr.trust import approvals
    from envr.trust.allow import allow

    if trust:
        allow(project_file)  # refuses a file that would not load
        return
    verdict = approvals.check(project_file, approvals.content_hash(project_file))
    if not verdict.allowed:
        raise NotTrustedError(
            f"{project_file} is {verdict.state}; resolving its packages runs their build code, "
            "so run 'envr allow' after reviewing it (or pass --trust)"
        )


def relock(
    project_file: str,
    upgrade: set[str] | None,
    environ: Mapping[str, str],
    say: Callable[[str], None],
    trust: bool = False,
) -> tuple[str | None, list[str]]:
    """(Re)write the project's envr.lock: unchanged entries keep their resolution, `upgrade` re-resolves those
    names (an empty set: all). Returns the lock file if it was written, and what changed. Only an allowed
    project is resolved (see require_allowed); it stays allowed (the user re-locked it themselves)."""
    from envr.errors import EnvrError
    from envr.fsutil import write_atomic
    from envr.project.load import load
    from envr.project.lockfile import render
    from envr.trust.allow import allow

    require_allowed(project_file, trust)
    project = load(project_file)
    unknown = sorted((upgrade or set()) - project.packages.keys())
    if unknown:
        raise EnvrError(f"no package {unknown[0]!r} in {project_file}")
    try:
        previous = read(project.lock_file)
    except LockError as e:
        say(f"{e}: rewriting it")
        previous = None
    new = make(project, environ, previous, upgrade, say)
    text = render(new)
    try:
        with open(project.lock_file, encoding="utf-8") as f:
            if f.read() == text:
                say(f"{project.lock_file} is up to date")
                return None, []
    except OSError:
        pass
    write_atomic(project.lock_file, text)
    allow(project_file)
    return project.lock_file, changes(previous, new)
