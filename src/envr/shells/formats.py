"""Non-shell export formats: json (for tools) and dotenv (for docker, compose and friends)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from envr.errors import EnvrError
from envr.shells.posix import quote

# envr's own revert state: meaningful only to the hook of an interactive shell, never to a file read elsewhere.
SKIPPED = frozenset({"ENVR_STATE", "ENVR_PROFILE"})

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
# Characters every reader takes literally without quotes: sh and bash (no expansion, splitting, globbing or
# tilde: no `~`), python-dotenv (no `#` comment, no `$` interpolation, no trailing space), docker --env-file.
_BARE = _NAME_CHARS | frozenset("-./:,+@%=")


def render_json(delta: Mapping[str, str | None]) -> str:
    return json.dumps(dict(delta), ensure_ascii=False, indent=None) + "\n"


def render_dotenv(delta: Mapping[str, str | None]) -> str:
    """A `.env` file: one `NAME=value` line per variable, made for `set -a; . ./file` in sh or bash.

    Sourced by any POSIX sh, every value comes back byte for byte and nothing runs. A value with a line break
    is refused (EnvrError naming it): docker's reader, and others that go line by line, would take the next
    line as a variable of its own (or as a name to copy from the host), so no form of it is safe to hand on.
    Each value is written in the first of these forms that fits, so that other readers agree with sh as often
    as they can:
    1. bare, when it holds only characters no reader interprets: letters, digits and `_-./:,+@%=`;
    2. in single quotes, when it holds no `'` and no `\\`: sh takes every byte literally;
    3. in double quotes with `\\` and `"` backslash-escaped, when it holds no `$` and no backtick;
    4. else in single quotes with each `'` written as `'\\''` (exact for sh only).

    Other readers, where they differ from sh:
    - python-dotenv (and the readers that follow it) read forms 1-3 exactly, except that by default it expands
      `${NAME}` in every form and has no escape for it (read with interpolate=False to keep such values). In
      single quotes it turns `\\\\` into `\\` and cannot read `'\\''`, and in double quotes it keeps `\\$`
      and a backslash before a backtick; so a value holding a `'` or `\\` and also a `$` or backtick (form 4)
      differs there. Reading a file path, it also turns a carriage return into a newline (universal newlines).
    - docker's `--env-file` takes everything after `=` literally: no quote is removed and a value cannot span
      lines. It gets form 1 exactly and the others with their quotes; hand docker such a variable from an
      environment envr applied instead (`envr exec DIR -- docker run -e NAME ...`).

    Lines are only ever `NAME=...` with NAME a valid identifier, and comments: dotenv cannot unset, so an unset
    becomes `# unset NAME`; envr's revert state (ENVR_STATE, ENVR_PROFILE) and names that are not identifiers
    are left out."""
    lines = []
    for name, value in delta.items():
        if name in SKIPPED or not _identifier(name):
            continue
        if value is None:
            lines.append(f"# unset {name}")
        elif "\n" in value:
            raise EnvrError(
                f"{name} holds a line break, which a .env file cannot carry safely (docker would read the next line "
                "as a variable of its own); use `envr export json`, or run the tool under `envr exec`"
            )
        else:
            lines.append(f"{name}={_dotenv_value(value)}")
    return "".join(line + "\n" for line in lines)


def _identifier(name: str) -> bool:
    return bool(name) and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name)


def _dotenv_value(value: str) -> str:
    if all(c in _BARE for c in value):
        return value
    if "'" not in value and "\\" not in value:
        return f"'{value}'"
    if "$" not in value and "`" not in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return quote(value)
