"""Where envr keeps its state.

On Linux this follows the XDG base-directory spec exactly as platformdirs does (a test holds the two
together); it is written out here because the prompt hook's lean path cannot afford platformdirs' import.
Other platforms defer to platformdirs.
"""

import os
import sys

APP = "envr"

_settled: dict[str, str] | None = None


def settle(environ: dict[str, str]) -> None:
    """Read envr's own directories from environ from now on: the environment before any project was applied.

    The prompt core and the CLI call this with the reverted environment, so a project's [env] (a HOME, an
    XDG dir) can never move envr's approvals, store or caches, whichever shell the next core runs in."""
    global _settled
    _settled = environ


def setting(var: str) -> str:
    """An environment variable of envr's own (ENVR_STORE, ENVR_AUTO_SYNC, XDG_*), as settled (see settle)."""
    return (os.environ if _settled is None else _settled).get(var, "")


_get = setting


def _home() -> str:
    home = _get("HOME")
    return home if home else os.path.expanduser("~")


def _xdg(var: str, fallback: str) -> str:
    value = _get(var).strip()
    if not value:
        value = os.path.join(_home(), fallback)
    return os.path.join(value, APP)


def data_dir() -> str:
    """Approvals, the store registry, generations."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", ".local/share")
    import platformdirs

    return platformdirs.user_data_dir(APP, appauthor=False)


def cache_dir() -> str:
    """Things that can be thrown away at any time: prompt stamps, download caches."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CACHE_HOME", ".cache")
    import platformdirs

    return platformdirs.user_cache_dir(APP, appauthor=False)


def state_dir() -> str:
    """Logs."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_STATE_HOME", ".local/state")
    import platformdirs

    return platformdirs.user_state_dir(APP, appauthor=False)


def shipped(name: str) -> str:
    """A directory envr ships beside its code (shell-integrations, hooks): inside the package when installed
    from a wheel, at the repository's top in a source checkout."""
    package = os.path.dirname(os.path.abspath(__file__))
    inside = os.path.join(package, name)
    if os.path.isdir(inside):
        return inside
    return os.path.join(os.path.dirname(os.path.dirname(package)), name)
