"""Helpers for the watcher tests: a project whose one package is a path entry with a counting build script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENVR = str(Path(sys.executable).parent / "envr")


def run_envr(*args: str, cwd: Path | str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PWD"] = str(cwd)
    return subprocess.run([ENVR, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def write_project(root: Path, version: str, counter: Path, before: str = "") -> Path:
    """envr.toml with one package `tool` whose build appends `version` to counter and installs bin/tool."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "README").write_text("the tool's source\n")
    script = (
        f"{before}echo {version} >> {counter}; mkdir -p $out/bin; "
        f"printf '#!/bin/sh\\necho tool {version}\\n' > $out/bin/tool; chmod +x $out/bin/tool"
    )
    (root / "envr.toml").write_text(
        f'version = 1\n[env]\nWHICH = "{version}"\n[packages]\ntool = {{ path = "./src", build = {json.dumps(script)} }}\n'
    )
    return root / "envr.toml"


def store_path(root: Path) -> str:
    """Where the project's tool resolves to in the store, realised or not."""
    r = run_envr("store", "path", "tool", "--project", str(root), cwd=root)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def is_valid(path: str) -> bool:
    return os.path.exists(os.path.join(os.path.dirname(path), ".valid", os.path.basename(path)))


def counted(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
    """Poll check() until it returns something truthy; fail naming `what` after a generous bound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status() -> dict[str, Any]:
    from envr.services.watch.state import read_status

    return read_status() or {}


def project_status(file: Path) -> dict[str, Any]:
    entry: dict[str, Any] = status().get("projects", {}).get(str(file), {})
    return entry


class Watcher:
    """`envr watch` as a real background process, its output in files (a pipe could fill up and block it)."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.out = tmp / f"watch-{time.monotonic_ns()}.out"
        with open(self.out, "wb") as f:
            self.proc = subprocess.Popen([ENVR, "watch", *args], stdout=f, stderr=subprocess.STDOUT, cwd=tmp)

    def output(self) -> str:
        return self.out.read_text()

    def wait_running(self) -> None:
        wait_for("the watcher to start", lambda: status().get("pid") == self.proc.pid and status().get("running"))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(60)
