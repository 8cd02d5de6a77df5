"""What a sync tells the user while it works: plain lines, plus a live download line on a terminal.

On a terminal, downloads redraw one line (`\\r`) with the package, bytes, total and speed, at most ten times a
second; any message first clears it. Elsewhere (CI logs, pipes) only the plain lines are written, so a log
never fills with carriage returns.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Reporter:
    """say() for lines, transfer() for byte counts; safe to call from the threads that realise packages."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._shown = False
        self._last = 0.0
        self._started: dict[str, float] = {}

    def say(self, message: str) -> None:
        with self._lock:
            self._clear()
            print(f"envr: {message}", file=self.stream, flush=True)

    def transfer(self, name: str, done: int, total: int | None) -> None:
        if not self.live:
            return
        now = time.monotonic()
        started = self._started.setdefault(name, now)
        finished = total is not None and done >= total
        if now - self._last < 0.1 and not finished:
            return
        speed = done / (now - started) if now > started else 0.0
        of = f" / {_size(total)}" if total else ""
        with self._lock:
            self._last = now
            self.stream.write(f"\r\x1b[2Kenvr: ⇣ {name} {_size(done)}{of} {_size(speed)}/s")
            self.stream.flush()
            self._shown = True

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self._shown = False
