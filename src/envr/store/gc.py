"""Collecting garbage: delete every store path no root reaches, never one something still uses, and never
anything envr did not make.

Roots: every kept generation of every project, every profile generation, and the temporary roots of running
processes (envr.store.roots: `envr exec`, `envr shell -p`, and syncs, which keep theirs until they exit).
References recorded in the registry are followed, so a path a rooted path needs stays.

What may go: only entries whose names are envr's own (store/layout.py): `<32 hex>-<name>-<version>` store paths,
`.tmp-<path>-<pid>` and `.trash-<path>-<pid>` work, and markers in .valid. Anything else in the directory is
foreign, left alone and reported once. A store whose registry is missing (while store paths exist) or
unreadable is never collected: RegistryError names the file and `envr store repair`. Without a registry, every
path would look unregistered, i.e. deletable.

Order, all under <store>/.gc.flock held exclusively, taken before anything is read:

    read the registry -> read the roots (generations, profile, temporary roots) -> for what goes:
    delete its marker -> delete its row (one transaction) -> rename it to .trash-* -> delete the tree

Why that order makes gc safe against the others:
- realise and sync hold the flock shared while building and until they have taken a temporary root on what
  they registered, so gc sees a path either still building (and waits) or rooted.
- the prompt (D9) checks markers, records its generation (a root), then checks the markers again while
  holding the flock shared (flocks.valid_under_flock) and trusts only paths still marked. That second check
  runs wholly before gc takes the flock, and then gc reads the new generation and keeps the paths, or wholly
  after gc let go, and then every path gc deleted has already lost its marker. Never in between. This is why
  the roots must be read after the flock is taken (collect takes a function, not a set), and the marker
  deleted before the flock is released.
- a gc killed at any point leaves paths that are either still fully valid (row and tree intact; a missing
  marker is restored by the next realise) or plainly invalid (no row): never a half-deleted tree that looks
  valid. Leftovers go at the next gc.

Leftovers of a killed build may still be held by processes the build left (they inherit the path's flock):
before taking the store flock, gc waits for those to exit (saying so), so it never deletes what they write
and never blocks a prompt or a sync while it waits; one still held after that is kept and reported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable

from envr.store import StoreError, is_store_name, registry, roots
from envr.store.flocks import path_flock, path_flock_held, store_flock
from envr.store.layout import scan
from envr.store.tree import force_remove

_kept: list[contextlib.ExitStack] = []  # temporary roots held until this process exits


def keep_alive(store: str, paths: Iterable[str]) -> None:
    """Root paths for the rest of this process's life (a sync, until its generation is recorded)."""
    stack = contextlib.ExitStack()
    stack.enter_context(roots.hold(store, list(paths)))
    _kept.append(stack)


class Result:
    __slots__ = ("busy", "bytes", "foreign", "leftovers", "live", "markers", "outside", "paths", "total", "unsure")

    def __init__(self) -> None:
        self.paths: list[str] = []  # registered paths deleted (or that would be)
        self.bytes = 0
        self.leftovers: list[str] = []  # unregistered store paths and interrupted work removed
        self.markers: list[str] = []  # stale markers (their path is gone or has no row) removed
        self.busy: list[str] = []  # leftovers kept: processes of a killed build still hold them
        self.unsure: list[str] = []  # unregistered, yet marked valid and rooted: kept for `envr store repair`
        self.foreign: list[str] = []  # names in the store directory that are not envr's, left alone
        self.outside = 0  # registry rows naming paths outside this store directory (left alone)
        self.live = 0  # registered paths kept
        self.total = 0


def collect(
    store: str,
    roots_of: Callable[[], Iterable[str]],
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> Result:
    """Delete what no root reaches. roots_of(): generation store paths, called once the store flock is held."""
    result = Result()
    if not os.path.isdir(store):
        return result
    if not registry.check(store):  # no registry and no store path: a fresh store, or not a store at all
        result.foreign = scan(store).foreign
        return result
    _wait_for_killed_builds(store, say)
    try:
        with store_flock(store, exclusive=True):
            _plan(store, roots_of, result)
            if not dry_run:
                _delete_planned(store, result)
    except OSError as e:
        raise StoreError(f"cannot collect garbage in {store}: {e.filename or store}: {e.strerror or e}") from None
    return result


def _wait_for_killed_builds(store: str, say: Callable[[str], None]) -> None:
    layout = scan(store)
    for p in layout.store_paths + layout.work:
        owner = _owner(p)
        if owner is not None and path_flock_held(store, owner):
            base = os.path.basename(owner)
            say(f"waiting for a build of {base} to end (a running sync, or processes an interrupted build left)")
            with path_flock(store, owner):
                pass


def _owner(entry: str) -> str | None:
    """The store path an entry (the path itself, its .tmp-* or .trash-* work) belongs to."""
    from envr.store import work_name_of

    name = os.path.basename(entry)
    if is_store_name(name):
        return entry
    path = work_name_of(name)
    return os.path.join(os.path.dirname(entry), path) if path else None


def _plan(store: str, roots_of: Callable[[], Iterable[str]], result: Result) -> None:
    graph, sizes = _registry(store)
    reachable = _closure(set(roots_of()) | roots.live(store), graph)
    layout = scan(store)
    result.foreign = layout.foreign
    mine = {p for p in sizes if os.path.dirname(p) == store and is_store_name(os.path.basename(p))}
    result.outside = len(sizes) - len(mine)
    result.total = len(mine)
    dead = sorted(p for p in mine if p not in reachable)
    result.paths = dead
    result.bytes = sum(sizes[p] for p in dead)
    result.live = len(mine) - len(dead)
    from envr.store import looks_valid

    for p in layout.store_paths + layout.work:
        if p in mine:
            continue
        owner = _owner(p)
        if owner is not None and path_flock_held(store, owner):
            result.busy.append(p)
        elif p in reachable and looks_valid(p):
            result.unsure.append(p)
        else:
            result.leftovers.append(p)
    keep = mine | set(result.unsure)  # dead paths lose their markers with their rows
    result.markers = [m for m in layout.markers if m not in keep]


def _delete_planned(store: str, result: Result) -> None:
    from envr.store import valid_marker

    registry.unregister(store, result.paths)  # markers, then the rows
    for p in result.markers:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(valid_marker(p))
    # Directory removal dominates (a few ms per rmdir on some filesystems) and releases the GIL.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda p: _delete(store, p), result.paths + result.leftovers))


def _registry(store: str) -> tuple[dict[str, list[str]], dict[str, int]]:
    graph: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for entry in registry.entries(store):
        sizes[entry.path] = entry.size
        graph[entry.path] = list(entry.references)
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
    and is dropped by the kernel when it exits; the then-stale file is cleaned by the next roots.live().
    Where the store cannot be written, the store flock itself is held shared across the exec instead."""
    suffix = os.sep + os.path.join(".envr", "bin")
    entries = path_value.split(":")
    held = [os.path.dirname(os.path.dirname(e)) for e in entries if e.startswith(store + os.sep) and e.endswith(suffix)]
    if not held:
        return
    fd = roots.root_fd(store, held)
    if fd is None:
        return
    os.set_inheritable(fd, True)
