"""What the watcher keeps on disk: one instance per user (an flock holding the owner's pid), status.json,
the log, and which project files are approved."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from envr import dirs
from envr.errors import EnvrError
from envr.fsutil import write_atomic
from envr.project.file import FILENAME, LOCKNAME
from envr.trust import approvals as trust

WATCHED_NAMES = frozenset({FILENAME, LOCKNAME})
CHANGE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})  # not opened/closed_no_write
MAX_WAIT_FACTOR = 10  # a project changing without pause is still realised every 10 debounce periods
SIGNAL_CHECK = 0.5  # the longest the main loop sleeps, so SIGTERM/SIGINT always act within this
STOP_GRACE = 30.0  # seconds a stopped build may take to roll back before its group is killed
LOG_ROTATE_BYTES = 1 << 20

# exit codes of the build child
BUILD_OK, BUILD_FAILED, BUILD_NOT_APPROVED = 0, 1, 3


class AlreadyWatchingError(EnvrError):
    """Another `envr watch` holds the lock."""


def watch_dir() -> str:
    return os.path.join(dirs.state_dir(), "watch")


def lock_path() -> str:
    return os.path.join(watch_dir(), "lock")


def status_path() -> str:
    return os.path.join(watch_dir(), "status.json")


def log_path() -> str:
    return os.path.join(watch_dir(), "watch.log")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# --- approvals -------------------------------------------------------------------------------------------


def approved_projects() -> dict[str, str]:
    """Project file -> the content hash its approval names, for every approval that is not a denial and whose
    project file still exists. (The file's current content may differ: then it waits for approval.)"""
    return trust.approved()


# --- one instance per user -------------------------------------------------------------------------------


@contextlib.contextmanager
def single_instance() -> Iterator[None]:
    """Hold the watcher lock for the with block; raise AlreadyWatchingError naming the pid that holds it."""
    os.makedirs(watch_dir(), exist_ok=True)
    fd = os.open(lock_path(), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            who = f"pid {pid}" if pid else "another process"
            raise AlreadyWatchingError(f"envr watch already runs ({who}); see envr watch --status") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # drops the lock; the file stays (unlinking a lock file races with the next taker)


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or "0") or None
    except ValueError:
        return None


def running_pid() -> int | None:
    """The pid of the running watcher, or None if none runs."""
    try:
        fd = os.open(lock_path(), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        return None
    finally:
        os.close(fd)


# --- status and log --------------------------------------------------------------------------------------


def read_status() -> dict[str, Any] | None:
    try:
        with open(status_path(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: str, data: Mapping[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


class Log:
    """Timestamped lines to <state>/watch/watch.log and to stderr (a terminal, or the service's journal)."""

    def __init__(self, path: str, echo: bool = True) -> None:
        self.path = path
        self.echo = echo
        self.lock = threading.Lock()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with contextlib.suppress(OSError):
            if os.path.getsize(path) > LOG_ROTATE_BYTES:
                os.replace(path, path + ".1")

    def __call__(self, message: str) -> None:
        line = f"{_now()} {message}\n"
        with self.lock:
            with open(self.path, "a", encoding="utf-8", errors="surrogateescape") as f:
                f.write(line)
            if self.echo:
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.write(f"envr watch: {message}\n")
                    sys.stderr.flush()
