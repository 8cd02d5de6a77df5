"""Collecting garbage: delete every store path no root reaches, never one something still uses.

Roots: every kept generation of every project, every profile generation, and the temporary roots of running
processes (envr.store.roots: `envr exec`, `envr shell -p`, and syncs, which keep theirs until they exit).
References recorded in the registry are followed, so a path a rooted path needs stays.

Concurrency: realise (and a whole `envr sync`) holds <store>/.gc.flock shared; gc holds it exclusively from
before it reads the roots until the last path is gone. A sync that registered a path has taken a temporary root
on it before letting go of its shared lock, so gc sees it either building (and waits) or rooted.

Removal, per path: valid marker first, then the registry row (one transaction for all), then rename to
.trash-* and delete. A gc killed at any point leaves paths that are either still fully valid (row and tree
intact; a missing marker is restored by the next realise) or plainly invalid (no row): never a half-deleted
tree that looks valid. Leftovers (.trash-*, .tmp-*, unregistered directories) go at the next gc.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing

from envr.store import registry_file, roots, valid_marker
from envr.store.flocks import store_flock
from envr.store.tree import force_remove

_kept: list[contextlib.ExitStack] = []  # temporary roots held until this process exits


def keep_alive(store: str, paths: Iterable[str]) -> None:
    """Root paths for the rest of this process's life (a sync, until its generation is recorded)."""
    stack = contextlib.ExitStack()
    stack.enter_context(roots.hold(store, list(paths)))
    _kept.append(stack)


class Result:
    __slots__ = ("bytes", "leftovers", "live", "paths", "total")

    def __init__(self) -> None:
        self.paths: list[str] = []  # registered paths deleted (or that would be)
        self.bytes = 0
        self.leftovers: list[str] = []  # unregistered trees and interrupted work removed
        self.live = 0  # registered paths kept
        self.total = 0


def collect(store: str, extra_roots: Iterable[str], dry_run: bool = False) -> Result:
    """Delete what no root reaches. extra_roots: generation store paths (the caller gathers them)."""
    result = Result()
    with store_flock(store, exclusive=True):
        graph, sizes = _registry(store)
        result.total = len(sizes)
        reachable = _closure(set(extra_roots) | roots.live(store), graph)
        dead = sorted(p for p in sizes if p not in reachable)
        result.paths = dead
        result.bytes = sum(sizes[p] for p in dead)
        result.live = len(sizes) - len(dead)
        leftovers = _leftovers(store, sizes)
        result.leftovers = leftovers
        if dry_run:
            return result
        for p in dead:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(valid_marker(p))
        _unregister(store, dead)
        # Directory removal dominates (a few ms per rmdir on some filesystems) and releases the GIL.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda p: _delete(store, p), dead + leftovers))
    return result


def _registry(store: str) -> tuple[dict[str, list[str]], dict[str, int]]:
    if not os.path.exists(registry_file(store)):
        return {}, {}
    with closing(sqlite3.connect(registry_file(store), timeout=60)) as db:
        sizes = dict(db.execute("SELECT path, size FROM paths").fetchall())
        graph: dict[str, list[str]] = {}
        for referrer, reference in db.execute("SELECT referrer, reference FROM refs"):
            graph.setdefault(referrer, []).append(reference)
    return graph, sizes


def _closure(start: set[str], graph: dict[str, list[str]]) -> set[str]:
    seen = set(start)
    stack = list(start)
    while stack:
        for ref in graph.get(stack.pop(), ()):
            if ref not in seen:
                seen.add(ref)
                stack.append(ref)
    return seen


def _leftovers(store: str, registered: dict[str, int]) -> list[str]:
    """Trees no realise is working on (gc holds the store lock): unregistered paths, .tmp-*, .trash-*."""
    out = []
    for name in sorted(os.listdir(store)):
        full = os.path.join(store, name)
        if name.startswith((".tmp-", ".trash-")) or (not name.startswith(".") and full not in registered):
            out.append(full)
    return out


def _unregister(store: str, paths: list[str]) -> None:
    if not paths:
        return
    with closing(sqlite3.connect(registry_file(store), timeout=60)) as db, db:
        db.execute("PRAGMA foreign_keys = ON")
        db.executemany("DELETE FROM paths WHERE path = ?", [(p,) for p in paths])


def _delete(store: str, path: str) -> None:
    name = os.path.basename(path)
    trash = path if name.startswith(".trash-") else os.path.join(store, f".trash-{name}-{os.getpid()}")
    try:
        if trash != path:
            os.rename(path, trash)
    except FileNotFoundError:
        return
    force_remove(trash)


def hold_across_exec(store: str, path_value: str) -> None:
    """Root the store paths on PATH for as long as this process and the command it execs run (`envr exec`).

    Like roots.hold, but the flock'd descriptor is inheritable, so the lock lives on in the exec'd command
    and is dropped by the kernel when it exits; the then-stale file is cleaned by the next roots.live()."""
    import secrets

    suffix = os.sep + os.path.join(".envr", "bin")
    entries = path_value.split(":")
    held = [os.path.dirname(os.path.dirname(e)) for e in entries if e.startswith(store + os.sep) and e.endswith(suffix)]
    if not held:
        return
    directory = os.path.join(store, roots.TMP_ROOTS)
    os.makedirs(directory, exist_ok=True)
    name = os.path.join(directory, f"{os.getpid()}-{secrets.token_hex(6)}")
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    os.write(fd, "".join(p + "\n" for p in held).encode("utf-8", "surrogateescape"))
    os.set_inheritable(fd, True)
