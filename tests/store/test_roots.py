"""Temporary roots: held while a process runs, forgotten as soon as it dies, however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from envr.store import roots


def test_held_paths_are_live_until_released(tmp_path: Path) -> None:
    store = str(tmp_path)
    with roots.hold(store, ["/s/a-x-1", "/s/b-y-2"]):
        assert roots.live(store) == {"/s/a-x-1", "/s/b-y-2"}
    assert roots.live(store) == set()
    assert os.listdir(tmp_path / ".roots" / "tmp") == []


def test_killed_holder_pins_nothing(tmp_path: Path) -> None:
    store = str(tmp_path)
    code = (
        "import sys, time; from envr.store import roots\n"
        "with roots.hold(sys.argv[1], ['/s/held-1']):\n"
        "    print('ready', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, store], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert roots.live(store) == {"/s/held-1"}  # another process's hold counts
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 10
        while roots.live(store) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert roots.live(store) == set()
        assert os.listdir(tmp_path / ".roots" / "tmp") == []  # the stale file was cleaned up
    finally:
        child.kill()
