"""Store maintenance: verify and remove store paths."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from envr.errors import EnvrError
from envr.fsutil import read_regular
from envr.store import INFO_FILE, registry
from envr.store.flocks import path_flock, store_flock
from envr.store.hashing import tree_hash
from envr.store.layout import scan
from envr.store.tree import force_remove


@dataclass(frozen=True)
class Problem:
    path: str
    what: str  # "missing", "corrupted (...)", "unreadable (...)", "marked valid but not registered"


@dataclass
class Report:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)  # bad: exit 1
    unregistered: list[str] = field(default_factory=list)  # envr's leftovers, not valid; gc removes them
    foreign: list[str] = field(default_factory=list)  # not envr's; left alone


def read_info(path: str) -> dict[str, object] | None:
    """A store path's own record (<path>/.envr/info), or None if it has none or it cannot be read."""
    try:
        data = json.loads(read_regular(os.path.join(path, INFO_FILE), 1 << 20, follow=False))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def external(recipe: object) -> list[str]:
    """The files outside the store a path's recipe says it runs on (an interpreter: Source.recipe `external`)."""
    source = recipe.get("source") if isinstance(recipe, dict) else None
    paths = source.get("external") if isinstance(source, dict) else None
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


def verify(store: str) -> Report:
    """Re-hash every registered path; also report markers without rows, leftovers and foreign entries.
    Raises RegistryError when the registry is missing (while store paths exist) or unreadable."""
    report = Report()
    rows = registry.entries(store)
    registered = {e.path for e in rows}
    for entry in rows:
        if not os.path.isdir(entry.path) or os.path.islink(entry.path):
            report.problems.append(Problem(entry.path, "missing"))
            continue
        try:
            actual, _ = tree_hash(entry.path)
        except OSError as e:
            report.problems.append(Problem(entry.path, f"unreadable ({e.filename}: {e.strerror or e})"))
            continue
        if actual != entry.hash:
            report.problems.append(Problem(entry.path, f"corrupted (expected {entry.hash}, found {actual})"))
            continue
        info = read_info(entry.path)
        if info is not None and info.get("hash") != entry.hash:
            report.problems.append(Problem(entry.path, "corrupted (its .envr/info disagrees with the registry)"))
            continue
        gone = [p for p in external(entry.recipe) if not os.path.exists(p)]
        if gone:
            report.problems.append(Problem(entry.path, f"broken: it runs on {gone[0]}, which is gone"))
    report.checked = len(rows)
    layout = scan(store)
    report.foreign = layout.foreign
    report.unregistered = [p for p in layout.store_paths + layout.work if p not in registered]
    for marked in layout.markers:
        if marked not in registered:
            what = "marked valid but not registered" if os.path.lexists(marked) else "marked valid but gone"
            report.problems.append(Problem(marked, what))
    return report


def remove(store: str, path: str) -> None:
    """Invalidate (row first) then delete a store path; refused while another valid path references it."""
    path = os.path.abspath(path)
    if os.path.dirname(path) != store:
        raise EnvrError(f"{path} is not a store path in {store}")
    with store_flock(store), path_flock(store, path):
        if not registry.valid(store, [path]) and not os.path.lexists(path):
            raise EnvrError(f"{path} is not in the store")
        users = registry.referrers(store, path)
        if users:
            raise EnvrError(f"cannot remove {path}: referenced by {', '.join(users)}")
        registry.unregister(store, [path])
        if os.path.lexists(path):
            trash = os.path.join(store, f".trash-{os.path.basename(path)}-{os.getpid()}")
            os.rename(path, trash)
            force_remove(trash)
