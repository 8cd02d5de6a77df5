"""The store registry: one sqlite row per valid store path. A directory without its row is not valid.

Readers (the prompt hook's check) only SELECT by primary key; rows are written once, after the path is
complete and read-only, and deleted first when a path is removed.
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

from envr.store import registry_file, valid_marker

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


@dataclass(frozen=True)
class Entry:
    path: str
    recipe: Any
    size: int
    hash: str
    registered: float
    references: tuple[str, ...]


@contextmanager
def _connect(store: str) -> Iterator[sqlite3.Connection]:
    os.makedirs(store, exist_ok=True)
    with closing(sqlite3.connect(registry_file(store), timeout=60)) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(SCHEMA)
        yield db


def valid(store: str, paths: Iterable[str]) -> set[str]:
    """Which of paths are registered: one indexed read, and nothing written (not even the schema)."""
    wanted = list(paths)
    db_file = registry_file(store)
    if not wanted or not os.path.exists(db_file):
        return set()
    try:
        uri = "file:" + db_file.replace("%", "%25").replace("?", "%3f").replace("#", "%23") + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=60)) as db:
            marks = ",".join("?" * len(wanted))
            rows = db.execute(f"SELECT path FROM paths WHERE path IN ({marks})", wanted).fetchall()
    except sqlite3.OperationalError:  # a registry being created right now has no table yet
        return set()
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


def unregister(store: str, path: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(valid_marker(path))
    with _connect(store) as db, db:
        db.execute("DELETE FROM paths WHERE path = ?", (path,))


def referrers(store: str, path: str) -> list[str]:
    with _connect(store) as db:
        rows = db.execute("SELECT referrer FROM refs WHERE reference = ? ORDER BY referrer", (path,)).fetchall()
    return [r[0] for r in rows if r[0] != path]


def entries(store: str) -> list[Entry]:
    if not os.path.exists(registry_file(store)):
        return []
    with _connect(store) as db:
        refs: dict[str, list[str]] = {}
        for referrer, reference in db.execute("SELECT referrer, reference FROM refs ORDER BY reference"):
            refs.setdefault(referrer, []).append(reference)
        rows = db.execute("SELECT path, recipe, size, hash, registered FROM paths ORDER BY path").fetchall()
    return [Entry(p, json.loads(r), s, h, t, tuple(refs.get(p, ()))) for p, r, s, h, t in rows]
