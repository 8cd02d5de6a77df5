"""envr watch: realise approved projects' packages in the background, so the next `cd` finds them ready.

    approvals dir ──(watchdog)──▶ rescan: which project files are approved, which directories to watch
    project dirs  ──(watchdog)──▶ envr.toml / envr.lock changed ──▶ debounce ──▶ at most N realisations
                                                                               (one child process each)

- Only approved content is ever built. A change is checked against its approval before a build starts and
  again by the build process itself (build scripts are code); an edited, not re-approved file is logged as
  waiting for approval, and is built when its approval changes (the approvals dir is watched too).
- Each realisation is a child process (`python -m envr.services.watch.child FILE`) in its own process group running
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

import signal
from collections.abc import Mapping

from envr.services.watch.loop import Watcher
from envr.services.watch.service import service_text
from envr.services.watch.state import Log, log_path, read_status, running_pid, single_instance

__all__ = ["service_text", "status_text", "watch"]


def watch(jobs: int, debounce: float, environ: Mapping[str, str]) -> None:
    """Run the watcher in the foreground until SIGTERM or SIGINT."""
    with single_instance():
        log = Log(log_path())
        watcher = Watcher(jobs, debounce, environ, log)
        signal.signal(signal.SIGTERM, watcher.stop)
        signal.signal(signal.SIGINT, watcher.stop)
        watcher.run()


# --- envr watch --status ---


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
