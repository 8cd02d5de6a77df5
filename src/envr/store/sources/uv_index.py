"""Which indexes uv sees: the UV_* variables, and PIP_* ones translated for uv, as the recipe records them.

uv reads ``UV_INDEX_URL``, ``UV_DEFAULT_INDEX``, ``UV_EXTRA_INDEX_URL``, ``UV_INDEX``, ``UV_FIND_LINKS`` and
``UV_NO_INDEX`` itself; it does not read ``PIP_*``, so ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``,
``PIP_FIND_LINKS`` and ``PIP_NO_INDEX`` are translated to their uv equivalents when the uv variable is unset.
pip.conf files are not read. What ends up in a recipe has credentials removed: a store path name must not
depend on (or leak) a password, only on which index was asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})

# (uv variable, pip variable, how pip separates a list -> how uv wants it); None = a boolean flag
_TRANSLATE: tuple[tuple[str, str, str | None], ...] = (
    ("UV_INDEX_URL", "PIP_INDEX_URL", " "),
    ("UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL", " "),
    ("UV_FIND_LINKS", "PIP_FIND_LINKS", ","),
    ("UV_NO_INDEX", "PIP_NO_INDEX", None),
)
# Variables uv reads that change which distributions it can see; recorded in the recipe.
_INDEX_VARS = (
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_PRERELEASE",
    "UV_EXCLUDE_NEWER",
)


def _strip_credentials(value: str) -> str:
    parts = []
    for item in re.split(r"[\s,]+", value.strip()):
        if not item:
            continue
        split = urlsplit(item)
        if split.scheme and "@" in split.netloc:
            split = split._replace(netloc=split.netloc.rsplit("@", 1)[1])
            item = urlunsplit(split)
        parts.append(item)
    return " ".join(parts)


def uv_environ(base: Mapping[str, str]) -> dict[str, str]:
    """`base` with PIP_* index settings translated to the UV_* variables uv reads, where those are unset."""
    env = dict(base)
    for uv_var, pip_var, sep in _TRANSLATE:
        if uv_var in env or pip_var not in env:
            continue
        if uv_var == "UV_INDEX_URL" and "UV_DEFAULT_INDEX" in env:
            continue
        if uv_var == "UV_EXTRA_INDEX_URL" and "UV_INDEX" in env:
            continue
        value = env[pip_var]
        if sep is None:
            if value.strip().lower() in _TRUE:
                env[uv_var] = "1"
        else:
            items = value.split()
            if items:
                env[uv_var] = sep.join(items)
    return env


def index_settings(base: Mapping[str, str]) -> dict[str, str]:
    """The effective uv index settings (after PIP_* translation), credentials removed, for the recipe."""
    env = uv_environ(base)
    settings: dict[str, str] = {}
    for var in _INDEX_VARS:
        value = env.get(var)
        if value is None:
            continue
        if var == "UV_NO_INDEX":
            if value.strip().lower() in _FALSE:
                continue
            value = "1"
        settings[var] = _strip_credentials(value) if var not in ("UV_INDEX_STRATEGY", "UV_PRERELEASE") else value
    return settings


def index_flags(env: Mapping[str, str]) -> list[str]:
    """--no-index when the settings say so: uv releases differ on reading UV_NO_INDEX from the environment."""
    return ["--no-index"] if env.get("UV_NO_INDEX", "").strip().lower() in _TRUE else []


def watched_variables() -> list[str]:
    """Every variable that can change what uv sees: an unlocked pypi entry's store path depends on them."""
    return sorted({*_INDEX_VARS, *(pip for _, pip, _ in _TRANSLATE)})
