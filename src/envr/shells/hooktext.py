"""The text `envr hook SHELL` prints: the shell-integrations script, told where the interpreter lives.

The hook calls the core by absolute interpreter path fixed here, never through PATH, so a version-manager
shim (~100 ms) or a removed `envr` on PATH cannot slow or break the prompt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from envr import dirs
from envr.shells import HOOK_SHELLS
from envr.shells import shell as shell_of


def integrations_dir() -> Path:
    return Path(dirs.shipped("shell-integrations"))


def hook_text(shell: str, python: str | None = None) -> str:
    if shell not in HOOK_SHELLS:
        raise ValueError(shell)
    r = shell_of(shell)
    python = os.path.abspath(python or sys.executable)
    lib = os.path.dirname(os.path.dirname(os.path.realpath(dirs.__file__)))  # the directory holding envr/
    head = r.assign(f"{r.prefix}_py", python) + "\n" + r.assign(f"{r.prefix}_lib", lib) + "\n"
    return head + (integrations_dir() / r.script).read_text(encoding="utf-8")
