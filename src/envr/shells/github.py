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

from envr.errors import EnvrError, NotTrustedError

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


def export_github(environ: Mapping[str, str], pwd: str) -> list[str]:
    """Append the project's environment to $GITHUB_ENV and $GITHUB_PATH; returns the names written."""
    from envr.prompt.core import compute

    env_file, path_file = environ.get("GITHUB_ENV"), environ.get("GITHUB_PATH")
    if not env_file or not path_file:
        raise EnvrError("GITHUB_ENV and GITHUB_PATH are not set: envr export github runs inside GitHub Actions")
    outcome = compute(environ, pwd)
    if outcome.error is not None:
        raise outcome.error
    if outcome.verdict is not None and not outcome.verdict.allowed:
        raise NotTrustedError(f"{outcome.problem}; in CI use `envr allow` (or `envr exec --trust`) explicitly")
    if outcome.problem is not None:  # packages that could not be realised
        raise EnvrError(outcome.problem)
    delta = outcome.delta
    with open(env_file, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(env_lines(delta))
    with open(path_file, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(path_lines(environ.get("PATH", ""), delta.get("PATH")))
    return sorted(n for n in delta if n not in SKIPPED)
