"""`envr export github`: hand a project's environment to the later steps of a GitHub Actions job.

Variables are appended to the file named by $GITHUB_ENV as NAME=value, or, for a value with a line break, as
NAME<<DELIMITER / value / DELIMITER with a random delimiter that does not occur in the value. Directories the
project puts on PATH are appended to $GITHUB_PATH, one per line, last first: the runner prepends each line in
turn, so the project's first PATH entry ends up first. GitHub has no way to unset a variable: a variable the
project unsets is set to the empty string.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

from envr.errors import EnvrError

SKIPPED = ("ENVR_STATE",)  # the revert state is for interactive shells; a CI step never leaves the project


def env_lines(delta: Mapping[str, str | None]) -> str:
    out = []
    for name in sorted(delta):
        if name == "PATH" or name in SKIPPED:
            continue
        value = delta[name] or ""
        if "\n" in value or "\r" in value:
            delimiter = f"ENVR_EOF_{secrets.token_hex(16)}"
            while delimiter in value:
                delimiter = f"ENVR_EOF_{secrets.token_hex(16)}"
            out.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            out.append(f"{name}={value}\n")
    return "".join(out)


def path_lines(before: str, after: str | None) -> str:
    if after is None:
        return ""
    old = set(before.split(os.pathsep))
    added = [p for p in after.split(os.pathsep) if p and p not in old]
    return "".join(f"{p}\n" for p in reversed(added))


def append(environ: Mapping[str, str], delta: Mapping[str, str | None]) -> tuple[list[str], int]:
    """Append delta to $GITHUB_ENV and its PATH entries to $GITHUB_PATH; returns the variable names written
    and how many PATH entries."""
    env_file, path_file = environ.get("GITHUB_ENV"), environ.get("GITHUB_PATH")
    if not env_file or not path_file:
        raise EnvrError("GITHUB_ENV and GITHUB_PATH are not set: envr export github runs inside GitHub Actions")
    paths = path_lines(environ.get("PATH", ""), delta.get("PATH"))
    with open(env_file, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(env_lines(delta))
    with open(path_file, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(paths)
    return sorted(n for n in delta if n not in SKIPPED and n != "PATH"), paths.count("\n")
