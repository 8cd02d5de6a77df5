"""What a store directory holds, by name: envr's store paths, its work in progress, its bookkeeping, and the
rest (foreign: never touched, reported once). gc, verify and repair all read a store through scan()."""

from __future__ import annotations

import os

from envr.store import VALID, is_bookkeeping, is_store_name, work_name_of

FOREIGN_SHOWN = 10


class Layout:
    __slots__ = ("foreign", "markers", "store_paths", "work")

    def __init__(self) -> None:
        self.store_paths: list[str] = []  # <store>/<hash>-<name>-<version>, whatever kind of entry
        self.work: list[str] = []  # <store>/.tmp-<path>-<pid> and .trash-<path>-<pid>
        self.foreign: list[str] = []  # names that are not envr's
        self.markers: list[str] = []  # store paths named by a marker in <store>/.valid


def scan(store: str) -> Layout:
    out = Layout()
    try:
        names = sorted(os.listdir(store))
    except (FileNotFoundError, NotADirectoryError):
        return out
    for name in names:
        full = os.path.join(store, name)
        if is_store_name(name):
            out.store_paths.append(full)
        elif work_name_of(name) is not None:
            out.work.append(full)
        elif not is_bookkeeping(name):
            out.foreign.append(name)
    try:
        marked = sorted(os.listdir(os.path.join(store, VALID)))
    except (FileNotFoundError, NotADirectoryError):
        marked = []
    out.markers = [os.path.join(store, n) for n in marked if is_store_name(n)]
    return out


def foreign_line(store: str, names: list[str]) -> str:
    """One line saying how many foreign entries were left alone, and where."""
    shown = ", ".join(names[:FOREIGN_SHOWN])
    if len(names) > FOREIGN_SHOWN:
        shown += f" and {len(names) - FOREIGN_SHOWN} more"
    what = "entry" if len(names) == 1 else "entries"
    return f"left {len(names)} {what} in {store} alone, as they are not envr's: {shown}"
