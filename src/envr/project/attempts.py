"""A realisation the prompt could not finish, remembered per exact content, so later prompts do not retry it.

A package that fails to build, a URL that times out, a Ctrl-C during the first prompt's realisation: the
prompt says so once and loads the rest. Until the project's content changes (an edit of envr.toml or envr.lock
changes its hash), `envr allow` or `envr sync` (which forget it), a prompt entering the project again does not
start the same work again: it repeats the remembered line instead of stalling every `cd` for seconds.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.fsutil import key_of, write_atomic

INTERRUPTED = "interrupted"


def _file(project_file: str) -> str:
    return os.path.join(dirs.cache_dir(), "attempts", key_of(project_file))


def _fingerprint(digest: str, paths: list[str]) -> str:
    return key_of("\0".join([digest, *sorted(paths)]))


def recall(project_file: str, digest: str, paths: list[str]) -> str | None:
    """What the last attempt at exactly this content and these store paths ended with, if it did not succeed."""
    try:
        with open(_file(project_file), encoding="utf-8", errors="replace") as f:
            first, _, message = f.read().partition("\n")
    except OSError:
        return None
    return message.rstrip("\n") or None if first == _fingerprint(digest, paths) else None


def remember(project_file: str, digest: str, paths: list[str], message: str) -> None:
    path = _file(project_file)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, f"{_fingerprint(digest, paths)}\n{message}\n")
    except OSError:
        pass  # a read-only cache: the next prompt tries again, which is what it did before


def forget(project_file: str) -> None:
    try:  # noqa: SIM105 (contextlib is not on the prompt's path)
        os.unlink(_file(project_file))
    except OSError:
        pass
