"""What a project needs from the store: its packages' store paths and everything they reference."""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.project.file import Project
from envr.store import registry
from envr.store.registry import Entry


def project_paths(project: Project, store: str) -> dict[str, str]:
    """Package name -> store path, every one of which must be realised."""
    from envr.project.packages import lock_of, resolve, specs_of

    resolved = resolve(specs_of(project), store, None, lock_of(project))
    paths = {name: r.path for name, r in resolved.items()}
    missing = sorted(name for name, p in paths.items() if p not in registry.valid(store, paths.values()))
    if missing:
        raise EnvrError(f"{', '.join(missing)} not realised in {store}; run envr sync first")
    return paths


def closure(store: str, paths: list[str]) -> list[Entry]:
    """The registry entries of paths and of everything they reference, references before their referrers."""
    entries = {e.path: e for e in registry.entries(store)}
    order: list[Entry] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(path: str, needed_by: str | None) -> None:
        if state.get(path) == 2:
            return
        entry = entries.get(path)
        if entry is None:
            why = f" (needed by {os.path.basename(needed_by)})" if needed_by else ""
            raise EnvrError(f"{path} is not a valid store path in {store}{why}")
        state[path] = 1
        for ref in entry.references:
            if ref != path and state.get(ref) != 1:
                visit(ref, path)
        state[path] = 2
        order.append(entry)

    for p in paths:
        visit(os.path.abspath(p), None)
    return order
