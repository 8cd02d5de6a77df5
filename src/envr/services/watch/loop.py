"""The watcher's loop: watchdog threads report events; the main thread debounces them and starts builds."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from envr.project.file import FILENAME
from envr.services.watch.state import (
    BUILD_NOT_APPROVED,
    BUILD_OK,
    CHANGE_EVENTS,
    MAX_WAIT_FACTOR,
    SIGNAL_CHECK,
    STOP_GRACE,
    WATCHED_NAMES,
    _now,
    _write_json,
    approved_projects,
    log_path,
    status_path,
)
from envr.trust import approvals as trust


class Watcher:
    """The loop: watchdog threads report events; the main thread debounces them and starts builds."""

    def __init__(self, jobs: int, debounce: float, environ: Mapping[str, str], log: Callable[[str], None]):
        self.jobs = max(1, jobs)
        self.debounce = max(0.0, debounce)
        self.environ = dict(environ)
        self.log = log
        self.cond = threading.Condition()
        self.due: dict[str, float] = {}  # project file -> when to realise it
        self.first: dict[str, float] = {}  # project file -> first unhandled change (bounds the debounce)
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.threads: list[threading.Thread] = []
        self.rescan_at: float | None = None
        self.approved: dict[str, str] = {}
        self.started_for: dict[str, str] = {}  # project file -> the approved hash its last build started with
        self.watches: dict[str, Any] = {}  # directory -> watchdog ObservedWatch
        self.held: dict[str, contextlib.ExitStack] = {}  # project file -> temporary gc roots on what it realised
        self.stopping = False
        self.status: dict[str, Any] = {
            "pid": os.getpid(),
            "started": _now(),
            "running": True,
            "jobs": self.jobs,
            "debounce": self.debounce,
            "log": log_path(),
            "watching": [],
            "projects": {},
            "last": None,
            "realisations": 0,
        }
        from watchdog.observers import Observer

        self.observer = Observer()

    # events (watchdog threads) ------------------------------------------------------------------------

    def on_event(self, event: Any) -> None:
        if event.event_type not in CHANGE_EVENTS or event.is_directory:
            return
        approvals = trust.approvals_dir()
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = os.fsdecode(raw)
            folder, name = os.path.split(path)
            if folder == approvals:
                self.request_rescan()
            elif name in WATCHED_NAMES:
                self.changed(os.path.join(folder, FILENAME))

    def request_rescan(self) -> None:
        with self.cond:
            self.rescan_at = time.monotonic() + min(self.debounce, 0.2)
            self.cond.notify()

    def changed(self, project_file: str, delay: float | None = None) -> None:
        """A project's files changed: realise it once the changes stop for `debounce` seconds."""
        with self.cond:
            if project_file not in self.approved:
                return
            now = time.monotonic()
            first = self.first.setdefault(project_file, now)
            wait = self.debounce if delay is None else delay
            self.due[project_file] = min(now + wait, first + MAX_WAIT_FACTOR * max(self.debounce, 0.1))
            self._set(project_file, state="queued")
            self.cond.notify()

    def stop(self, signum: int = 0, frame: object = None) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify()

    # the main loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                watcher.on_event(event)

        self.handler = Handler()
        os.makedirs(trust.approvals_dir(), exist_ok=True)
        self.observer.schedule(self.handler, trust.approvals_dir(), recursive=False)
        self.observer.start()
        self.log(f"started (pid {os.getpid()}, {self.jobs} build{'s' if self.jobs != 1 else ''} at once)")
        try:
            self.rescan(initial=True)
            with self.cond:
                while not self.stopping:
                    now = time.monotonic()
                    if self.rescan_at is not None and self.rescan_at <= now:
                        self.rescan_at = None
                        self.cond.release()
                        try:
                            self.rescan()
                        finally:
                            self.cond.acquire()
                        continue
                    for file in sorted(self.due, key=self.due.__getitem__):
                        if len(self.running) >= self.jobs:
                            break
                        if self.due[file] <= now and file not in self.running:
                            del self.due[file]
                            self.first.pop(file, None)
                            self._start(file)
                    # wake for the next due project that could start; a finishing build notifies us
                    startable = len(self.running) < self.jobs
                    wake = [t for f, t in self.due.items() if startable and f not in self.running]
                    if self.rescan_at is not None:
                        wake.append(self.rescan_at)
                    # never block without a timeout: a signal landing just before the wait would only be handled
                    # when the wait ends, so the stop would hang until the next event
                    timeout = max(0.01, min(wake) - time.monotonic()) if wake else SIGNAL_CHECK
                    self.cond.wait(min(timeout, SIGNAL_CHECK))
        finally:
            self._shutdown()

    def rescan(self, initial: bool = False) -> None:
        """Re-read the approvals: watch new projects' directories, drop revoked ones, realise what changed."""
        current = approved_projects()
        wanted = {os.path.dirname(f) for f in current}
        for folder in sorted(wanted - self.watches.keys()):
            try:
                self.watches[folder] = self.observer.schedule(self.handler, folder, recursive=False)
            except OSError as e:
                self.log(f"cannot watch {folder}: {e}")
        for folder in sorted(self.watches.keys() - wanted):
            with contextlib.suppress(Exception):  # the directory may be gone with its watch
                self.observer.unschedule(self.watches[folder])
            del self.watches[folder]
        with self.cond:
            previous, self.approved = self.approved, current
            for file in previous.keys() - current.keys():
                self.due.pop(file, None)
                self.started_for.pop(file, None)
                if file in self.held:
                    self.held.pop(file).close()
                self.status["projects"].pop(file, None)
                self.log(f"no longer watching {file} (approval revoked or file gone)")
            self.status["watching"] = sorted(current)
            for file, digest in sorted(current.items()):
                if file not in previous:
                    self.log(f"watching {file}")
                if initial:
                    self.changed(file, delay=0.0)
                elif previous.get(file) != digest and self.started_for.get(file) != digest:
                    self.changed(file)  # a build of exactly this content started already: nothing new
            self._save()

    def _start(self, file: str) -> None:
        """Start realising file's packages if its current content is the approved one. Called under cond."""
        try:
            digest = trust.content_hash(file)
        except FileNotFoundError:
            self.log(f"{file} is gone; realising it again when it comes back")
            self._set(file, state="missing", message="the project file is gone")
            return
        except OSError as e:
            self.log(f"{file}: cannot read: {e.strerror}")
            self._set(file, state="failed", message=f"cannot read: {e.strerror}")
            return
        verdict = trust.check(file, digest)
        if not verdict.allowed:
            self.log(f"{file} is {verdict.state}: waiting for approval ('envr allow') before realising")
            self._set(file, state="waiting for approval", message=f"{verdict.state}; run 'envr allow'")
            return
        cmd = [sys.executable, "-m", "envr.services.watch.child", file, digest]
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.environ, start_new_session=True
            )
        except OSError as e:
            self.log(f"{file}: cannot start a build: {e}")
            self._set(file, state="failed", message=f"cannot start a build: {e}")
            return
        self.running[file] = proc
        self.started_for[file] = digest
        self._set(file, state="realising", message=None)
        self.log(f"realising {file}")
        t = threading.Thread(target=self._collect, args=(file, proc), name=f"build {file}", daemon=True)
        self.threads.append(t)
        t.start()

    def _collect(self, file: str, proc: subprocess.Popen[bytes]) -> None:
        """Relay a build's progress to the log and record how it ended (a thread per build)."""
        assert proc.stderr is not None and proc.stdout is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line:
                self.log(f"  {os.path.dirname(file)}: {line.removeprefix('envr: ')}")
        out = proc.stdout.read().decode("utf-8", "replace")
        code = proc.wait()
        try:
            result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        except ValueError:
            result = {}
        with self.cond:
            del self.running[file]
            self.status["realisations"] += 1
            runs = self.status["projects"].get(file, {}).get("runs", 0) + 1
            # the log line first, then the status: whoever sees the status can find the line
            if code == BUILD_OK:
                self._hold(file, result.get("paths", []))
                built = result.get("built", [])
                what = f"built {', '.join(built)}" if built else "everything already in the store"
                self.log(f"realised {file}: {what}")
                self._set(file, state="realised", message=what, built=built, runs=runs, log=None)
            elif code == BUILD_NOT_APPROVED:
                self.log(f"{file}: {result.get('error')}: waiting for approval")
                self._set(file, state="waiting for approval", message=result.get("error"), runs=runs)
            elif self.stopping:
                self.log(f"rolled back {file} (stopping); it is realised again at the next start")
                self._set(file, state="stopped", message="rolled back by the stop", runs=runs)
            else:
                message = result.get("error") or (
                    f"stopped by signal {-code}" if code < 0 else f"build process exited {code}"
                )
                logs = result.get("logs") or []
                where = f" (log: {', '.join(logs)})" if logs else ""
                self.log(f"failed to realise {file}{where}: {message}; retrying on its next change")
                first_line = message.splitlines()[0] if message else message
                self._set(file, state="failed", message=first_line, runs=runs, log=logs[0] if logs else None)
            self.cond.notify()

    def _hold(self, file: str, paths: list[str]) -> None:
        """Root what a project's last realisation produced while the watcher runs: the user has not entered the
        project yet, so no generation roots it, and a gc in between would undo the work."""
        from envr.store import roots, store_dir

        stack = contextlib.ExitStack()
        try:
            stack.enter_context(roots.hold(store_dir(self.environ), paths))
        except OSError as e:
            self.log(f"cannot hold gc roots for {file}: {e}")
            return
        old = self.held.pop(file, None)
        self.held[file] = stack
        if old is not None:
            old.close()

    def _set(self, file: str, **fields: Any) -> None:
        entry = self.status["projects"].setdefault(file, {})
        entry.update(fields)
        entry["at"] = _now()
        if fields.get("state") not in (None, "queued"):
            self.status["last"] = {"project": file, **entry}
        self._save()

    def _save(self) -> None:
        with contextlib.suppress(OSError):
            _write_json(status_path(), self.status)

    def _shutdown(self) -> None:
        with self.cond:
            running = dict(self.running)
        if running:
            self.log(f"stopping: rolling back {len(running)} build{'s' if len(running) != 1 else ''} in flight")
        for proc in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for proc in running.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for t in self.threads:
            t.join(5)
        self.observer.stop()
        self.observer.join(5)
        for stack in self.held.values():
            stack.close()
        with self.cond:
            self.status["running"] = False
            self.status["stopped"] = _now()
            self._save()
        self.log("stopped")
