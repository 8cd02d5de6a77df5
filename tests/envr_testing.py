"""Helpers shared by the top-level tests: run the installed envr as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENVR = str(Path(sys.executable).parent / "envr")


def run_envr(*args: str, cwd: Path | str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed envr console script as a user would, with PWD matching cwd."""
    full = dict(os.environ if env is None else env)
    full["PWD"] = str(cwd)
    return subprocess.run([ENVR, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60)
