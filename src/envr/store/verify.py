"""Store maintenance: list, verify and remove store paths."""

from __future__ import annotations

import os
from dataclasses import dataclass

from envr.errors import EnvrError
from envr.store import registry
from envr.store.flocks import path_flock
from envr.store.hashing import tree_hash
from envr.store.tree import force_remove


@dataclass(frozen=True)
class Problem:
    path: str
    what: str  # "missing" or "corrupted (...)"


def verify(store: str) -> tuple[int, list[Problem]]:
    """Re-hash every registered path; returns how many were checked and what is wrong."""
    problems = []
    rows = registry.entries(store)
    for entry in rows:
        if not os.path.isdir(entry.path):
            problems.append(Problem(entry.path, "missing"))
            continue
        try:
            actual, _ = tree_hash(entry.path)
        except OSError as e:
            problems.append(Problem(entry.path, f"unreadable ({e})"))
            continue
        if actual != entry.hash:
            problems.append(Problem(entry.path, f"corrupted (expected {entry.hash}, found {actual})"))
    return len(rows), problems


def remove(store: str, path: str) -> None:
    """Invalidate (row first) then delete a store path; refused while another valid path references it."""
    path = os.path.abspath(path)
    if os.path.dirname(path) != store:
        raise EnvrError(f"{path} is not a store path in {store}")
    with path_flock(store, path):
        if not registry.valid(store, [path]) and not os.path.lexists(path):
            raise EnvrError(f"{path} is not in the store")
        users = registry.referrers(store, path)
        if users:
            raise EnvrError(f"cannot remove {path}: referenced by {', '.join(users)}")
        registry.unregister(store, path)
        if os.path.lexists(path):
            trash = os.path.join(store, f".trash-{os.path.basename(path)}-{os.getpid()}")
            os.rename(path, trash)
            force_remove(trash)
