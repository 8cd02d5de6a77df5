"""Which caches to ask and which keys to trust, and which caches failed a moment ago.

`$XDG_CONFIG_HOME/envr/config.toml` (the user's, never a project's: a project must not choose what the
store trusts):

    substituters = ["oci://ghcr.io/acme/envr-cache", "https://cache.example.org/envr"]
    trusted-public-keys = ["ci.acme-1:Zm9v..."]

`ENVR_SUBSTITUTERS` and `ENVR_TRUSTED_PUBLIC_KEYS`, when set, replace them (space-separated; set and empty
means none). Both are envr's own settings, read from the environment before any project was applied.

A cache that could not be reached (or answered 5xx, or refused the login) is skipped for RETRY_AFTER
seconds: `$XDG_STATE_HOME/envr/substituters/<hash of the URL>` holds when and why it failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Mapping

from envr import dirs
from envr.errors import EnvrError
from envr.fsutil import key_of, write_atomic
from envr.store.cache.keys import KeyFormatError, PublicKey

RETRY_AFTER = 300.0
CONFIG = "config.toml"


def config_dir() -> str:
    if sys.platform.startswith("linux") or dirs.setting("XDG_CONFIG_HOME"):
        base = dirs.setting("XDG_CONFIG_HOME").strip()
        if not base:
            base = os.path.join(dirs.setting("HOME") or os.path.expanduser("~"), ".config")
        return os.path.join(base, dirs.APP)
    import platformdirs

    return platformdirs.user_config_dir(dirs.APP, appauthor=False)


def config_file() -> str:
    return os.path.join(config_dir(), CONFIG)


class Settings:
    __slots__ = ("problems", "substituters", "trusted")

    def __init__(self, substituters: list[str], trusted: list[PublicKey], problems: list[str]) -> None:
        self.substituters = substituters
        self.trusted = trusted
        self.problems = problems  # one line each: a bad key or config, said once and otherwise ignored


def _config() -> dict[str, object]:
    path = config_file()
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise EnvrError(f"{path}: cannot read ({e.strerror})") from None
    import tomllib

    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise EnvrError(f"{path}: {e}") from None
    return doc


def _strings(doc: dict[str, object], key: str) -> list[str]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EnvrError(f"{config_file()}: {key} must be an array of strings")
    return [v.strip() for v in value if v.strip()]


def load(environ: Mapping[str, str]) -> Settings:
    """The settings in force, environ being envr's own environment (before any project was applied).
    Raises EnvrError for an unreadable config file."""
    env_subs = environ.get("ENVR_SUBSTITUTERS")
    env_keys = environ.get("ENVR_TRUSTED_PUBLIC_KEYS")
    doc = _config() if env_subs is None or env_keys is None else {}
    subs = env_subs.split() if env_subs is not None else _strings(doc, "substituters")
    texts = env_keys.split() if env_keys is not None else _strings(doc, "trusted-public-keys")
    keys, problems = [], []
    for text in texts:
        try:
            keys.append(PublicKey.parse(text))
        except KeyFormatError as e:
            where = "ENVR_TRUSTED_PUBLIC_KEYS" if env_keys is not None else config_file()
            problems.append(f"{where}: {e}; ignoring that key")
    return Settings(subs, keys, problems)


# --- caches that failed a moment ago ---


def _failure_file(url: str) -> str:
    return os.path.join(dirs.state_dir(), "substituters", key_of(url, 24))


def failed_recently(url: str, now: float | None = None) -> float | None:
    """Seconds since url last failed, if that was less than RETRY_AFTER ago."""
    try:
        with open(_failure_file(url), encoding="utf-8") as f:
            when = float(f.readline().strip() or "0")
    except (OSError, ValueError):
        return None
    age = (time.time() if now is None else now) - when
    return age if 0 <= age < RETRY_AFTER else None


def mark_failed(url: str, reason: str) -> None:
    path = _failure_file(url)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, f"{time.time()}\n{url}\n{reason}\n")
    except OSError:
        pass


def clear_failure(url: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(_failure_file(url))
