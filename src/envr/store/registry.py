"""The store registry: one sqlite row per valid store path. A directory without its row is not valid.

Readers (the prompt hook's check) only SELECT by primary key; rows are written once, after the path is
complete and read-only, and deleted first when a path is removed.

The registry is created (atomically, schema included) before the first store path is built, and never again
while store paths exist: a store whose registry is missing or unreadable raises RegistryError naming the file
and `envr store repair`, which rebuilds it from the store paths' own records (store/repair.py). Nothing ever
treats such a store as empty: gc would otherwise delete every path in it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from envr.store import REPAIR_HINT, RegistryError, StoreError, is_store_name, registry_file, valid_marker

SCHEMA = """
CREATE TABLE IF NOT EXISTS paths (
    path TEXT PRIMARY KEY,
    recipe TEXT NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    registered REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refs (
    referrer TEXT NOT NULL REFERENCES paths(path) ON DELETE CASCADE,
    reference TEXT NOT NULL,
    PRIMARY KEY (referrer, reference)
);
CREATE INDEX IF NOT EXISTS refs_by_reference ON refs(reference);
"""
TIMEOUT = 60


@dataclass(frozen=True)
class Entry:
    path: str
    recipe: Any
    size: int
    hash: str
    registered: float
    references: tuple[str, ...]


def store_paths_on_disk(store: str) -> list[str]:
    """Names of the store-path directories in store (envr's form only)."""
    try:
        names = os.listdir(store)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if is_store_name(n) and os.path.isdir(os.path.join(store, n)))


def error(store: str, e: sqlite3.Error) -> StoreError:
    """One line for a failed registry operation: what is wrong with which file, and what to do."""
    file = registry_file(store)
    text = str(e)
    if isinstance(e, sqlite3.OperationalError):
        if "no such table" in text:
            return RegistryError(f"{file} holds no store registry ({text}); {REPAIR_HINT}")
        if "locked" in text:
            return StoreError(f"{file} stayed locked by another envr for {TIMEOUT} s; try again")
        if "readonly" in text:
            return StoreError(f"{file} cannot be written ({text}): the store is read-only here")
        return StoreError(f"{file}: {text}")
    return RegistryError(f"{file} is unreadable ({text}); {REPAIR_HINT}")


def _missing(store: str, names: list[str]) -> RegistryError:
    return RegistryError(
        f"{registry_file(store)} is missing, but {store} holds {len(names)} store "
        f"path{'s' if len(names) != 1 else ''}; {REPAIR_HINT}"
    )


def _ro_uri(file: str) -> str:
    return "file:" + file.replace("%", "%25").replace("?", "%3f").replace("#", "%23") + "?mode=ro"


def ensure(store: str) -> None:
    """Create the registry, schema and all in one rename, unless it exists. Refuses (RegistryError) to create
    one over store paths whose registry was lost: their validity would silently vanish."""
    file = registry_file(store)
    if os.path.exists(file):
        return
    names = store_paths_on_disk(store)
    if names:
        raise _missing(store, names)
    os.makedirs(store, exist_ok=True)
    tmp = f"{file}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        with closing(sqlite3.connect(tmp)) as db:
            db.executescript(SCHEMA)
        with suppress(FileExistsError):  # another envr created it meanwhile
            os.link(tmp, file)
    except sqlite3.Error as e:
        raise error(store, e) from None
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


@contextmanager
def _connect(store: str) -> Iterator[sqlite3.Connection]:
    """A writable connection to an existing, well-formed registry (created first if the store has none)."""
    ensure(store)
    try:
        with closing(sqlite3.connect(registry_file(store), timeout=TIMEOUT)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("SELECT 1 FROM paths LIMIT 1").fetchall()  # a garbage or empty file fails here
            yield db
    except sqlite3.Error as e:
        raise error(store, e) from None


@contextmanager
def _read(store: str) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection; None when the store has no registry and no store paths (a fresh store)."""
    file = registry_file(store)
    if not os.path.exists(file):
        names = store_paths_on_disk(store)
        if names:
            raise _missing(store, names)
        yield None
        return
    try:
        with closing(sqlite3.connect(_ro_uri(file), uri=True, timeout=TIMEOUT)) as db:
            yield db
    except sqlite3.Error as e:
        raise error(store, e) from None


def check(store: str) -> bool:
    """Raise RegistryError unless the registry can be read (or the store is fresh); True if it exists."""
    with _read(store) as db:
        if db is None:
            return False
        db.execute("SELECT 1 FROM paths LIMIT 1").fetchall()
        db.execute("SELECT 1 FROM refs LIMIT 1").fetchall()
        return True


def valid(store: str, paths: Iterable[str]) -> set[str]:
    """Which of paths are registered: one indexed read, and nothing written."""
    wanted = list(paths)
    if not wanted:
        return set()
    with _read(store) as db:
        if db is None:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = db.execute(f"SELECT path FROM paths WHERE path IN ({marks})", wanted).fetchall()
    return {r[0] for r in rows}


def register(store: str, path: str, recipe: Any, size: int, content_hash: str, references: Iterable[str]) -> None:
    with _connect(store) as db, db:
        db.execute(
            "INSERT OR REPLACE INTO paths (path, recipe, size, hash, registered) VALUES (?, ?, ?, ?, ?)",
            (path, json.dumps(recipe, sort_keys=True), size, content_hash, time.time()),
        )
        db.executemany("INSERT OR IGNORE INTO refs VALUES (?, ?)", [(path, r) for r in references])
    mark_valid(path)


def mark_valid(path: str) -> None:
    """Create the marker the prompt stats; only ever for a path whose row exists."""
    marker = valid_marker(path)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "a"):
        pass


def unregister(store: str, paths: Iterable[str]) -> None:
    """Invalidate paths: markers first, then the rows (one transaction)."""
    wanted = list(paths)
    for path in wanted:
        with suppress(FileNotFoundError):
            os.unlink(valid_marker(path))
    if not wanted:
        return
    with _connect(store) as db, db:
        db.executemany("DELETE FROM paths WHERE path = ?", [(p,) for p in wanted])


def referrers(store: str, path: str) -> list[str]:
    with _read(store) as db:
        if db is None:
            return []
        rows = db.execute("SELECT referrer FROM refs WHERE reference = ? ORDER BY referrer", (path,)).fetchall()
    return [r[0] for r in rows if r[0] != path]


def entries(store: str) -> list[Entry]:
    with _read(store) as db:
        if db is None:
            return []
        refs: dict[str, list[str]] = {}
        for referrer, reference in db.execute("SELECT referrer, reference FROM refs ORDER BY reference"):
            refs.setdefault(referrer, []).append(reference)
        rows = db.execute("SELECT path, recipe, size, hash, registered FROM paths ORDER BY path").fetchall()
    out = []
    for p, r, s, h, t in rows:
        try:
            recipe = json.loads(r)
        except ValueError:
            raise RegistryError(f"{registry_file(store)}: the row of {p} is damaged; {REPAIR_HINT}") from None
        out.append(Entry(p, recipe, s, h, t, tuple(refs.get(p, ()))))
    return out


def replace_all(store: str, rows: list[Entry]) -> None:
    """Write a registry holding exactly rows and rename it over the old one (repair; under the exclusive
    store flock, so no writer is active and any journal left beside the old file is stale)."""
    file = registry_file(store)
    tmp = f"{file}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        with closing(sqlite3.connect(tmp)) as db, db:
            db.executescript(SCHEMA)
            db.executemany(
                "INSERT INTO paths VALUES (?, ?, ?, ?, ?)",
                [(e.path, json.dumps(e.recipe, sort_keys=True), e.size, e.hash, e.registered) for e in rows],
            )
            refs = [(e.path, r) for e in rows for r in e.references]
            db.executemany("INSERT OR IGNORE INTO refs VALUES (?, ?)", refs)
        for suffix in ("-journal", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                os.unlink(file + suffix)
        os.replace(tmp, file)
    except sqlite3.Error as e:
        raise error(store, e) from None
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
