"""`envr watch --print-service`: a systemd user unit or a launchd agent that runs the watcher."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from envr.errors import EnvrError
from envr.services.watch.state import STOP_GRACE, log_path

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
