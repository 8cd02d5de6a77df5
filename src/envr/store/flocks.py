"""The file locks (flock) the store takes. In envr, "lock" alone means envr.lock; these are flocks.

- the store flock, <store>/.gc.flock: every realise and sync holds it shared, gc exclusively, so gc never
  deletes what a sync is building or has just registered;
- a path flock per store path, <store>/.flocks/<store path name>.flock: one realise (or removal) of a path at
  a time, so eight racing syncs build it once.

The kernel drops a flock when its holder dies, so a killed process never leaves the store locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

STORE_FLOCK = ".gc.flock"
PATH_FLOCKS = ".flocks"


@contextlib.contextmanager
def _flock(file: str, mode: int) -> Iterator[None]:
    os.makedirs(os.path.dirname(file), exist_ok=True)
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def store_flock(store: str, exclusive: bool = False) -> contextlib.AbstractContextManager[None]:
    """Shared while realising or syncing; exclusive while collecting garbage."""
    return _flock(os.path.join(store, STORE_FLOCK), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


def path_flock_file(store: str, store_path: str) -> str:
    return os.path.join(store, PATH_FLOCKS, os.path.basename(store_path) + ".flock")


def path_flock(store: str, store_path: str) -> contextlib.AbstractContextManager[None]:
    """Exclusive, while store_path is realised or removed."""
    return _flock(path_flock_file(store, store_path), fcntl.LOCK_EX)
