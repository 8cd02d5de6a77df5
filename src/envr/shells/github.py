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
from collections.abc import Callable, Mapping
from typing import Protocol

from envr.errors import EnvrError, NotTrustedError
from envr.shells.formats import SKIPPED  # the revert state is for interactive shells; a CI step never leaves


class Verdict(Protocol):
    @property
    def allowed(self) -> bool: ...


class Outcome(Protocol):
    """What export_github needs of the prompt core's outcome (prompt.core.Outcome; this layer is below it)."""

    @property
    def delta(self) -> Mapping[str, str | None]: ...
    @property
    def error(self) -> EnvrError | None: ...
    @property
    def problem(self) -> str | None: ...
    @property
    def verdict(self) -> Verdict | None: ...


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


def path_entries(before: str, after: str | None) -> list[str]:
    """The directories the project puts on PATH, in the order $GITHUB_PATH wants them (last first)."""
    if after is None:
        return []
    old = set(before.split(os.pathsep))
    return list(reversed([p for p in after.split(os.pathsep) if p and p not in old]))


def path_lines(before: str, after: str | None) -> str:
    return "".join(f"{p}\n" for p in path_entries(before, after))


def export_github(environ: Mapping[str, str], compute: Callable[[], Outcome]) -> str:
    """Append the project's environment to $GITHUB_ENV and $GITHUB_PATH; returns what to say ("exported N
    variables to $GITHUB_ENV and M PATH entries to $GITHUB_PATH": PATH is not counted as a variable).
    compute gives the prompt core's outcome for the checkout (the core is a layer above this module)."""
    env_file, path_file = environ.get("GITHUB_ENV"), environ.get("GITHUB_PATH")
    if not env_file or not path_file:
        raise EnvrError("GITHUB_ENV and GITHUB_PATH are not set: envr export github runs inside GitHub Actions")
    outcome = compute()
    if outcome.error is not None:
        raise outcome.error
    if outcome.verdict is not None and not outcome.verdict.allowed:
        raise NotTrustedError(f"{outcome.problem}; in CI use `envr allow` (or `envr exec --trust`) explicitly")
    if outcome.problem is not None:  # packages that could not be realised
        raise EnvrError(outcome.problem)
    delta = outcome.delta
    names = [n for n in delta if n != "PATH" and n not in SKIPPED]
    entries = path_entries(environ.get("PATH", ""), delta.get("PATH"))
    with open(env_file, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(env_lines(delta))
    with open(path_file, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write("".join(f"{p}\n" for p in entries))
    variables, path = _count(len(names), "variable"), _count(len(entries), "PATH entry")
    return f"exported {variables} to $GITHUB_ENV and {path} to $GITHUB_PATH"


def _count(n: int, what: str) -> str:
    plural = what[:-1] + "ies" if what.endswith("y") else what + "s"
    return f"{n} {what if n == 1 else plural}"
