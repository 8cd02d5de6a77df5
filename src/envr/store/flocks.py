"""The file locks (flock) the store takes. In envr, "lock" alone means envr.lock; these are flocks.

- the store flock, <store>/.gc.flock: every realise and sync holds it shared, gc and repair exclusively, so gc
  never deletes what a sync is building or has just registered;
- a path flock per store path, <store>/.flocks/<store path name>.flock: one realise (or removal) of a path at
  a time, so eight racing syncs build it once. A build script inherits it (store/sources/_tree.py), so a
  process a killed build left behind keeps it until it exits, and nothing realises that path again before.

The kernel drops a flock when the last descriptor of it closes, so a killed process never leaves the store
locked. flock needs no write access: where the store cannot be written (a read-only mount, another user's
store) the shared flock is taken on a read-only descriptor, so `envr exec` and the prompt work there.

This module is on the prompt's path (valid_under_flock): os, fcntl and contextlib only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os

from envr.store import StoreError, looks_valid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

STORE_FLOCK = ".gc.flock"
PATH_FLOCKS = ".flocks"
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def store_flock_file(store: str) -> str:
    return os.path.join(store, STORE_FLOCK)


def _open(file: str, writable_only: bool) -> int | None:
    """A descriptor of the flock file, creating it (and its directory) if need be.

    Where the store cannot be written: a read-only descriptor of an existing file, or None when there is none
    (no envr could ever have collected this store through this view of it). writable_only: raise instead."""
    try:
        os.makedirs(os.path.dirname(file), exist_ok=True)
        return os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        if writable_only or e.errno not in _NOT_WRITABLE:
            raise
    try:
        return os.open(file, os.O_RDONLY)
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _flock(file: str, mode: int, writable_only: bool = False) -> Iterator[int | None]:
    try:
        fd = _open(file, writable_only)
    except OSError as e:
        if not writable_only:
            raise
        raise StoreError(f"cannot change the store {os.path.dirname(file)}: {e.strerror or e}") from None
    if fd is None:
        yield None
        return
    try:
        fcntl.flock(fd, mode)  # LOCK_NB in mode: BlockingIOError if another process holds it
        yield fd
    finally:
        os.close(fd)


def store_flock(
    store: str, exclusive: bool = False, blocking: bool = True
) -> contextlib.AbstractContextManager[int | None]:
    """Shared while realising, syncing or confirming paths; exclusive while collecting garbage or repairing.

    Yields the descriptor (None: a read-only store without a flock file, shared only). blocking=False raises
    BlockingIOError at once instead of waiting for a gc. Exclusive needs a writable store (StoreError)."""
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
    return _flock(store_flock_file(store), mode, writable_only=exclusive)


def valid_under_flock(store: str, paths: Iterable[str], blocking: bool = True) -> list[str] | None:
    """Which of paths are valid, judged while holding the store flock shared. For the prompt (D9): call it
    after writing the generation that roots paths and before trusting them. gc holds the flock exclusively
    from before it reads the roots until it has removed the markers of what it deletes, so a path whose
    marker is seen here is either already rooted in gc's eyes or was never a candidate.

    blocking=False: None if a gc holds the flock right now (the caller tries again at the next prompt)."""
    wanted = list(paths)
    if not wanted:
        return []
    try:
        with store_flock(store, blocking=blocking):
            return [p for p in wanted if looks_valid(p)]
    except BlockingIOError:
        return None


def path_flock_file(store: str, store_path: str) -> str:
    return os.path.join(store, PATH_FLOCKS, os.path.basename(store_path) + ".flock")


@contextlib.contextmanager
def path_flock(store: str, store_path: str, waiting: Callable[[], None] | None = None) -> Iterator[int]:
    """Exclusive, while store_path is realised or removed; yields the descriptor (a build inherits it).

    waiting() is called once if another process holds it (a realise elsewhere, or what a killed build left)."""
    file = path_flock_file(store, store_path)
    os.makedirs(os.path.dirname(file), exist_ok=True)
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def path_flock_held(store: str, store_path: str) -> bool:
    """Whether some process holds store_path's flock right now (without creating the flock file)."""
    try:
        fd = os.open(path_flock_file(store, store_path), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
