"""`envr store repair`: rebuild the registry from the store paths on disk.

Each store path carries its own record, <path>/.envr/info (recipe, content hash, size, references), written
before the path was made read-only and left out of its hash. A path is re-registered when

- its record names it (the directory was not renamed) and its recipe hashes to the hash in its name, and
- its content hashes to the record's hash, now, and
- every path it references is re-registered too.

A path without a record (made by an envr before records existed) is still re-registered when the old registry
can be read and its row's hash matches. Everything else is reported, loses its marker, and is left for gc
(an unregistered store path is a leftover) or the next sync, which builds it again. Foreign entries are
left alone. The unreadable registry is kept beside the new one as .registry.sqlite.broken.

Repair trusts the store directory's owner: whoever can write a store path and its record can make repair
accept it. It is for a lost or damaged registry, not for a store someone else may have written.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

from envr.errors import EnvrError
from envr.store import HASH_CHARS, REGISTRY, RegistryError, looks_valid, registry, registry_file, valid_marker
from envr.store.flocks import store_flock
from envr.store.hashing import path_hash, tree_hash
from envr.store.layout import scan
from envr.store.verify import read_info

BROKEN = REGISTRY + ".broken"


@dataclass
class Outcome:
    registered: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    foreign: list[str] = field(default_factory=list)
    kept_broken: str | None = None  # where the unreadable registry was moved


def repair(store: str) -> Outcome:
    if not os.path.isdir(store):
        raise EnvrError(f"{store}: no such store directory (ENVR_STORE)")
    out = Outcome()
    with store_flock(store, exclusive=True):  # no realise, gc or other repair meanwhile
        old: dict[str, registry.Entry] = {}
        broken = False
        try:
            old = {e.path: e for e in registry.entries(store)}
        except RegistryError:
            broken = os.path.exists(registry_file(store))
        layout = scan(store)
        out.foreign = layout.foreign
        candidates: dict[str, registry.Entry] = {}
        for path in layout.store_paths:
            entry, why = _check(store, path, old.get(path))
            if entry is None:
                out.refused.append((path, why))
            else:
                candidates[path] = entry
        _drop_broken_references(candidates, out)
        if broken:
            os.replace(registry_file(store), os.path.join(store, BROKEN))
            out.kept_broken = os.path.join(store, BROKEN)
        registry.replace_all(store, [candidates[p] for p in sorted(candidates)])
        for path in candidates:
            if not looks_valid(path):
                registry.mark_valid(path)
        for marked in layout.markers:
            if marked not in candidates:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(valid_marker(marked))
        out.registered = sorted(candidates)
    return out


def _check(store: str, path: str, row: registry.Entry | None) -> tuple[registry.Entry | None, str]:
    name = os.path.basename(path)
    if not os.path.isdir(path) or os.path.islink(path):
        return None, "not a directory"
    info = read_info(path)
    if info is not None:
        recipe, expected = info.get("recipe"), info.get("hash")
        refs = info.get("references")
        if info.get("name") != name:
            return None, f"its .envr/info names {info.get('name')!r}: it was renamed or copied"
        try:
            if path_hash(recipe) != name[:HASH_CHARS]:
                return None, "its recipe does not hash to its name"
        except TypeError:
            return None, "its .envr/info is damaged"
        if not isinstance(expected, str) or not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            return None, "its .envr/info is damaged"
        references = tuple(os.path.join(store, r) for r in refs)
    elif row is not None:
        recipe, expected, references = row.recipe, row.hash, row.references
    else:
        return None, "no record of its content (.envr/info) and no registry row: it cannot be checked"
    try:
        actual, size = tree_hash(path)
    except OSError as e:
        return None, f"unreadable ({e.filename}: {e.strerror or e})"
    if actual != expected:
        return None, f"corrupted (its record says {expected}, its content is {actual})"
    registered = row.registered if row is not None else time.time()
    return registry.Entry(path, recipe, size, actual, registered, references), ""


def _drop_broken_references(candidates: dict[str, registry.Entry], out: Outcome) -> None:
    """A path whose references are not all re-registered is not either (until nothing changes)."""
    changed = True
    while changed:
        changed = False
        for path, entry in sorted(candidates.items()):
            lost = [r for r in entry.references if r not in candidates]
            if lost:
                del candidates[path]
                out.refused.append((path, f"it references {os.path.basename(lost[0])}, which is not intact"))
                changed = True
