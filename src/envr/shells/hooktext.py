"""The text `envr hook SHELL` prints: the shell-integrations script, told where the interpreter lives.

The hook calls the core by absolute interpreter path fixed here, never through PATH, so a version-manager
shim (~100 ms) or a removed `envr` on PATH cannot slow or break the prompt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from envr import dirs
from envr.shells import HOOK_SHELLS, renderer

SCRIPT = {"bash": "envr.bash", "zsh": "envr.zsh", "fish": "envr.fish"}
PREFIX = {"bash": "_envr", "zsh": "_envr", "fish": "__envr"}


def integrations_dir() -> Path:
    return Path(dirs.shipped("shell-integrations"))


def hook_text(shell: str, python: str | None = None) -> str:
    if shell not in HOOK_SHELLS:
        raise ValueError(shell)
    r = renderer(shell)
    python = os.path.abspath(python or sys.executable)
    lib = os.path.dirname(os.path.dirname(os.path.realpath(dirs.__file__)))  # the directory holding envr/
    prefix = PREFIX[shell]
    head = r.assign(f"{prefix}_py", python) + "\n" + r.assign(f"{prefix}_lib", lib) + "\n"
    return head + (integrations_dir() / SCRIPT[shell]).read_text(encoding="utf-8")
