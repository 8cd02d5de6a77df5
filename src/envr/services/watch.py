"""envr watch: realise approved projects' packages in the background, so the next `cd` finds them ready.

    approvals dir ──(watchdog)──▶ rescan: which project files are approved, which directories to watch
    project dirs  ──(watchdog)──▶ envr.toml / envr.lock changed ──▶ debounce ──▶ at most N realisations
                                                                               (one child process each)

- Only approved content is ever built. A change is checked against its approval before a build starts and
  again by the build process itself (build scripts are code); an edited, not re-approved file is logged as
  waiting for approval, and is built when its approval changes (the approvals dir is watched too).
- Each realisation is a child process (`python -m envr.watch FILE`) in its own process group running
  packages.sync, so a crash cannot take the watcher down and a stop can roll builds back: SIGTERM to the
  group fails the build script, and realise removes its work dir (kill -9 would leave only unregistered
  leftovers, which the store ignores and the next realise cleans).
- A failure is logged with the build log's path and retried only on the next change of that project.
- What a project's last realisation produced is held as temporary gc roots (store.roots) while the watcher
  runs, so an `envr gc` before the user's next `cd` (which records a generation) does not collect it.
- One instance per user: an flock on <state>/watch/lock, which also holds the owner's pid.
- <state>/watch/status.json (rewritten atomically) says what it watches and what it last did;
  <state>/watch/watch.log is the log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
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
    found: dict[str, str] = {}
    folder = trust.approvals_dir()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return found
    for name in names:
        if name.endswith(".tmp"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8", errors="surrogateescape") as f:
                digest = f.readline().strip()
                path = f.readline().rstrip("\n")
        except OSError:
            continue
        if digest and digest != "denied" and path and os.path.isfile(path):
            found[path] = digest
    return found


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


# --- the watcher -----------------------------------------------------------------------------------------


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
        cmd = [sys.executable, "-m", "envr.services.watch", file, digest]
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


def watch(jobs: int, debounce: float, environ: Mapping[str, str]) -> None:
    """Run the watcher in the foreground until SIGTERM or SIGINT."""
    with single_instance():
        log = Log(log_path())
        watcher = Watcher(jobs, debounce, environ, log)
        signal.signal(signal.SIGTERM, watcher.stop)
        signal.signal(signal.SIGINT, watcher.stop)
        watcher.run()


# --- envr watch --status / --print-service ---------------------------------------------------------------


def status_text() -> tuple[str, bool]:
    """What `envr watch --status` prints, and whether a watcher runs."""
    pid = running_pid()
    data = read_status() or {}
    lines = []
    if pid is None:
        lines.append("envr watch: not running")
        if data.get("stopped"):
            lines.append(f"last ran as pid {data.get('pid')}, stopped {data['stopped']}")
    else:
        since = f" since {data['started']}" if data.get("pid") == pid and data.get("started") else ""
        lines.append(f"envr watch: running (pid {pid}){since}, {data.get('jobs', '?')} builds at once")
    lines.append(f"log: {log_path()}")
    projects = data.get("projects", {})
    watching = data.get("watching", [])
    if pid is not None:
        lines.append(f"watching {len(watching)} project{'s' if len(watching) != 1 else ''}:")
        for file in watching:
            entry = projects.get(file, {})
            state = entry.get("state", "idle")
            detail = f": {entry['message']}" if entry.get("message") else ""
            at = f" at {entry['at']}" if entry.get("at") else ""
            lines.append(f"  {file}  {state}{at}{detail}")
    last = data.get("last")
    if last:
        detail = f": {last['message']}" if last.get("message") else ""
        log = f" (log: {last['log']})" if last.get("log") else ""
        lines.append(f"last: {last.get('state')} {last.get('project')} at {last.get('at')}{detail}{log}")
    return "\n".join(lines), pid is not None


SERVICE_ENV = ("PATH", "ENVR_STORE", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")


def service_text(kind: str, environ: Mapping[str, str]) -> str:
    """A systemd user unit or a launchd agent plist running `envr watch` with this interpreter.

    It carries PATH, ENVR_STORE and the XDG dirs of the calling shell, so builds see the same tools and the
    watcher the same approvals and store as the shell that printed it."""
    argv = [sys.executable, "-m", "envr", "watch"]
    env = {k: environ[k] for k in SERVICE_ENV if environ.get(k)}
    if kind == "systemd":

        def quote(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' if any(c in s for c in " \"'\\") else s

        lines = [
            "# ~/.config/systemd/user/envr-watch.service; then: systemctl --user enable --now envr-watch",
            "[Unit]",
            "Description=envr watch: realise approved projects' packages in the background",
            "",
            "[Service]",
            "ExecStart=" + " ".join(quote(a) for a in argv),
            *(f"Environment={quote(f'{k}={v}')}" for k, v in env.items()),
            "Restart=on-failure",
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={int(STOP_GRACE) + 15}",
            "",
            "[Install]",
            "WantedBy=default.target",
        ]
        return "\n".join(lines) + "\n"
    if kind == "launchd":
        from xml.sax.saxutils import escape

        def string(s: str) -> str:
            return f"<string>{escape(s)}</string>"

        env_xml = "".join(f"\n    <key>{escape(k)}</key>{string(v)}" for k, v in env.items())
        args_xml = "".join(f"\n    {string(a)}" for a in argv)
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- ~/Library/LaunchAgents/org.envr.watch.plist; then: launchctl load ~/Library/LaunchAgents/org.envr.watch.plist -->
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>org.envr.watch</string>
  <key>ProgramArguments</key>
  <array>{args_xml}
  </array>
  <key>EnvironmentVariables</key>
  <dict>{env_xml}
  </dict>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>StandardErrorPath</key>{string(log_path() + ".stderr")}
</dict>
</plist>
"""
    raise EnvrError(f"unknown service kind {kind!r}; envr prints systemd or launchd")


# --- the build child -------------------------------------------------------------------------------------


def _build_main(argv: list[str]) -> int:
    """`python -m envr.watch FILE DIGEST`: realise FILE's packages if its content is still the approved DIGEST.

    Prints one JSON line on stdout ({"built": [...]} or {"error": ..., "logs": [...]}); progress on stderr."""
    file, expected = argv[0], argv[1]

    def interrupted(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through realise, which removes its work dir

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    def say(message: str) -> None:
        print(f"envr: {message}", file=sys.stderr, flush=True)

    def result(code: int, **data: Any) -> int:
        print(json.dumps(data), flush=True)
        return code

    from envr.project.load import parse
    from envr.project.packages import sync

    try:
        with open(file, "rb") as f:
            content = f.read()
        digest = trust.content_hash(file, content)
        verdict = trust.check(file, digest)
        if not verdict.allowed or digest != expected:
            return result(BUILD_NOT_APPROVED, error=f"{file} is {verdict.state if not verdict.allowed else 'changed'}")
        project = parse(file, content)
        resolved, built = sync(project, os.environ, say)
    except EnvrError as e:
        return result(BUILD_FAILED, error=str(e), logs=_log_paths(str(e)))
    except OSError as e:
        return result(BUILD_FAILED, error=f"{file}: {e.strerror or e}")
    return result(BUILD_OK, built=built, paths=[r.path for r in resolved.values()])


def _log_paths(message: str) -> list[str]:
    """Build log paths a realise error names (its message ends with the log's path)."""
    logs = os.path.join(dirs.state_dir(), "logs") + os.sep
    found = []
    for word in message.replace("(", " ").replace(")", " ").split():
        word = word.rstrip(".,;:")
        if word.startswith(logs) and word not in found:
            found.append(word)
    return found


if __name__ == "__main__":
    sys.exit(_build_main(sys.argv[1:]))
