"""Temporary gc roots: store paths a running process uses (`envr exec`, `envr shell -p`, a sync in flight).

A process that holds paths writes them to a file under <store>/.roots/tmp/ and keeps a shared flock on it
for as long as it runs. The collector counts a file as live exactly when it cannot take an exclusive lock on
it, so a crashed or killed holder (whose locks the kernel drops) never pins anything, and a reused pid cannot
be mistaken for the original holder.

Where the store cannot be written (a read-only mount, another user's store), no root file can be made; the
holder then keeps the store flock itself shared instead, which a gc elsewhere waits for: nothing it uses can
go while it runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterable, Iterator

from envr.store.flocks import store_flock_file

TMP_ROOTS = os.path.join(".roots", "tmp")


def _dir(store: str) -> str:
    return os.path.join(store, TMP_ROOTS)


def _write(store: str, paths: list[str]) -> tuple[int, str] | None:
    """(descriptor with a shared flock, file) of a new root file; None where the store cannot be written."""
    try:
        os.makedirs(_dir(store), exist_ok=True)
        name = os.path.join(_dir(store), f"{os.getpid()}-{secrets.token_hex(6)}")
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.write(fd, "".join(p + "\n" for p in paths).encode("utf-8", "surrogateescape"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return fd, name


def _store_flock_fd(store: str) -> int | None:
    """The store flock held shared on a read-only descriptor (the fallback root); None if there is none."""
    try:
        fd = os.open(store_flock_file(store), os.O_RDONLY)
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


@contextlib.contextmanager
def hold(store: str, paths: Iterable[str]) -> Iterator[None]:
    """Keep paths alive against `envr gc` for the duration of the with block."""
    wanted = list(paths)
    made = _write(store, wanted)
    if made is None:
        fd = _store_flock_fd(store)
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)
        return
    fd, name = made
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        os.close(fd)


def root_fd(store: str, paths: list[str]) -> int | None:
    """A descriptor rooting paths until it is closed (by the kernel, when the process and what it execs exit):
    a root file's, or the store flock's where the store cannot be written. None: nothing to hold."""
    made = _write(store, paths)
    return made[0] if made is not None else _store_flock_fd(store)


def live(store: str) -> set[str]:
    """Paths held by running processes; stale files (their holder is gone) are removed on the way."""
    held: set[str] = set()
    try:
        names = os.listdir(_dir(store))
    except FileNotFoundError:
        return held
    for name in names:
        file = os.path.join(_dir(store), name)
        try:
            fd = os.open(file, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live holder: its paths are roots
                with os.fdopen(os.dup(fd), "rb") as f:
                    held.update(line for line in f.read().decode("utf-8", "surrogateescape").splitlines() if line)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(file)
        finally:
            os.close(fd)
    return held
