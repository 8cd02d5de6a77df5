"""Value templates in envr.toml: `${NAME}` is NAME's value before activation (empty if unset), `$$` a literal
`$`, and any other `$` stays as it is. One scanner serves interpolating, listing the names a template reads and
the least a value can be (every name empty), so the three cannot disagree about where a name is.

Hand-written, not a regex: this module is on the prompt's lean path, which keeps `re` unloaded.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")


def valid_name(name: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_]*: what an environment variable name may be in envr.toml."""
    return bool(name) and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name)


def _scan(template: str) -> list[tuple[str, str | None]]:
    """The template as (literal text, name read after it or None) pieces, in order."""
    pieces: list[tuple[str, str | None]] = []
    text: list[str] = []
    i = 0
    while True:
        j = template.find("$", i)
        if j < 0:
            text.append(template[i:])
            pieces.append(("".join(text), None))
            return pieces
        text.append(template[i:j])
        if template.startswith("$$", j):
            text.append("$")
            i = j + 2
            continue
        if template.startswith("${", j):
            close = template.find("}", j + 2)
            name = template[j + 2 : close] if close > 0 else ""
            if valid_name(name):
                pieces.append(("".join(text), name))
                text = []
                i = close + 1
                continue
        text.append("$")
        i = j + 1


def interpolate(template: str, env: Mapping[str, str]) -> str:
    """The template with each `${NAME}` replaced by env's NAME (empty if unset) and `$$` by `$`."""
    return "".join(text + (env.get(name, "") if name is not None else "") for text, name in _scan(template))


def names_read(template: str) -> list[str]:
    """The names interpolate looks up in this template, in order."""
    return [name for _, name in _scan(template) if name is not None]


def literal(template: str) -> str:
    """The template as it reads with every `${NAME}` empty: the least it can be at activation."""
    return "".join(text for text, _ in _scan(template))
