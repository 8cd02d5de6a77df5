"""What a sync tells the user while it works: plain lines, plus live lines on a terminal.

On a terminal, every package being realised has one live line, redrawn in place: a download shows its bytes,
total and speed (`envr: ⇣ jq 1.2 MiB / 3.4 MiB 5.0 MiB/s`), a PyPI or npm install its phase (resolving,
downloading, building, installing), its elapsed seconds and bytes where known (`envr: ⋯ ruff: downloading
10.9 MiB (3s)`). The block is redrawn at most ten times a second and once a second while anything runs;
any message first clears it, and it comes back at the next update. Elsewhere (CI logs, pipes) only the plain
lines are written (the start and finish of each package), so a log never fills with carriage returns.

Imported on the prompt's path: no threading or typing at import. The reporter's lock is `_thread`'s (a builtin
loaded at start-up); its once-a-second redraw thread starts only when a live phase line first appears.
"""

from __future__ import annotations

import _thread
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

_current: list[Reporter | None] = [None]  # the reporter sources report phases to (the latest one made)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class _Line:
    __slots__ = ("done", "kind", "phase", "started", "total")

    def __init__(self, kind: str, now: float) -> None:
        self.kind = kind  # "transfer" (a download envr makes itself) or "phase" (a tool's step)
        self.phase = ""
        self.started = now
        self.done: int | None = None
        self.total: int | None = None


class Reporter:
    """say() for lines, transfer() for byte counts, phase() for what a tool is doing; safe to call from the
    threads that realise packages. The newest reporter is the one envr.progress.phase() reaches."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        try:
            self.live = self.stream.isatty() if live is None else live
        except (AttributeError, ValueError):
            self.live = False
        self._lock = _thread.allocate_lock()
        self._lines: dict[str, _Line] = {}
        self._drawn = 0  # lines of the live block now on screen
        self._last = 0.0
        self._ticking = False
        _current[0] = self

    def say(self, message: str) -> None:
        with self._lock:
            self._clear()
            print(f"envr: {message}", file=self.stream, flush=True)

    def transfer(self, name: str, done: int, total: int | None) -> None:
        if not self.live:
            return
        now = time.monotonic()
        with self._lock:
            line = self._lines.get(name)
            if line is None or line.kind != "transfer":
                line = self._lines[name] = _Line("transfer", now)
            line.done, line.total = done, total
            finished = total is not None and done >= total
            if now - self._last >= 0.1 or finished:
                self._draw(now)

    def phase(self, name: str, phase: str | None, done: int | None = None, total: int | None = None) -> None:
        """Package name is now in phase (None: it finished, its line goes)."""
        if not self.live:
            return
        now = time.monotonic()
        with self._lock:
            if phase is None:
                if self._lines.pop(name, None) is not None:
                    self._draw(now)
                return
            line = self._lines.get(name)
            if line is None or line.kind != "phase":
                started = line.started if line is not None else now
                line = self._lines[name] = _Line("phase", started)
            changed = line.phase != phase
            line.phase, line.done, line.total = phase, done, total
            if changed or now - self._last >= 0.1:
                self._draw(now)
            if not self._ticking:
                self._ticking = True
                _thread.start_new_thread(self._tick, ())

    def _tick(self) -> None:
        """Redraw once a second (the elapsed seconds move) while any phase line is live."""
        while True:
            time.sleep(1.0)
            with self._lock:
                if not any(line.kind == "phase" for line in self._lines.values()):
                    self._ticking = False
                    return
                self._draw(time.monotonic())

    def _text(self, name: str, line: _Line, now: float) -> str:
        if line.kind == "transfer":
            done = line.done or 0
            speed = done / (now - line.started) if now > line.started else 0.0
            of = f" / {_size(line.total)}" if line.total else ""
            return f"envr: \u21e3 {name} {_size(done)}{of} {_size(speed)}/s"
        size = ""
        if line.done is not None and line.total:
            size = f" {_size(line.done)} / {_size(line.total)}"
        elif line.total or line.done:
            size = f" {_size(line.total or line.done or 0)}"
        return f"envr: \u22ef {name}: {line.phase}{size} ({now - line.started:.0f}s)"

    def _draw(self, now: float) -> None:
        self._clear()
        if not self._lines:
            return
        import os

        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            width = 120
        texts = [self._text(name, line, now)[: max(20, width - 1)] for name, line in self._lines.items()]
        self.stream.write("\r\x1b[2K" + "\n\x1b[2K".join(texts))
        self.stream.flush()
        self._drawn = len(texts)
        self._last = now

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K" + "\x1b[1A\x1b[2K" * (self._drawn - 1))
            self._drawn = 0


def phase(name: str, what: str | None, done: int | None = None, total: int | None = None) -> None:
    """Report package name's phase to the current reporter (nothing without one, or off a terminal)."""
    reporter = _current[0]
    if reporter is not None:
        reporter.phase(name, what, done, total)


def transfer(name: str, done: int, total: int | None) -> None:
    """Report a download's bytes to the current reporter (nothing without one, or off a terminal)."""
    reporter = _current[0]
    if reporter is not None:
        reporter.transfer(name, done, total)


def say(message: str) -> None:
    """One line through the current reporter (so a live block is cleared first), or straight to stderr."""
    reporter = _current[0]
    if reporter is not None:
        reporter.say(message)
    else:
        print(f"envr: {message}", file=sys.stderr, flush=True)
