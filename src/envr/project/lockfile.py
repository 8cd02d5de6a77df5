"""envr.lock: the exact resolution of a project's [packages], written by `envr lock`, read by sync and the prompt.

The file is a small TOML subset, sorted and one fact per line so a review of a lock change reads well::

    # envr.lock: ...
    version = 1
    packages_hash = "sha256:..."           # of the [packages] table it was made from

    [packages.ruff]
    kind = "pypi"
    entry = "{\\"pypi\\":\\"ruff==0.6.9\\"}"  # the envr.toml entry it was made from (canonical JSON)
    version = "0.6.9"
    python = "3.11"
    requirements = [                       # the whole dependency set, exact versions (and markers)
        "ruff==0.6.9",
    ]
    hashes = [                             # every artifact's sha256
        "ruff==0.6.9 sha256:...",
    ]

npm entries carry their package-lock tree (one line per installed package: its package-lock entry as canonical
JSON), url entries their sha256, path entries their content hash, npm tarballs their sha256.

With a lock present, store paths are named from the locked resolution (not from index settings), so two machines
with the same lock get the same store paths. No lock at all keeps the behaviour from before locks: packages are
resolved from envr.toml when realised.

This module is on the prompt's path for projects with packages: no json, re or typing at import.
"""

from __future__ import annotations

from envr.errors import EnvrError
from envr.fsutil import memo_load, memo_save, sha256
from envr.project.file import LOCKNAME
from envr.store.hashing import canonical_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from envr.project.file import Project
    from envr.store.sources.base import PackageSpec

LOCK_VERSION = 1
HEADER = (
    "# envr.lock: the exact resolution of [packages] in envr.toml, written by `envr lock`.\n"
    "# Commit it with envr.toml; do not edit it by hand (`envr lock --upgrade` re-resolves).\n"
)
RUN_LOCK = "run envr lock"
# Key order inside a package table; anything else follows, sorted.
_ORDER = ("kind", "entry", "version", "python", "sha256", "content", "requirements", "hashes")


class LockError(EnvrError):
    """envr.lock is unreadable, of another format version, or does not match envr.toml."""


class Unread:
    """The default of for_project's content: read the file."""


UNREAD = Unread()


class Lock:
    __slots__ = ("packages", "packages_hash")

    def __init__(self, packages_hash: str, packages: dict[str, dict[str, Any]]) -> None:
        self.packages_hash = packages_hash
        self.packages = packages


def section_hash(packages: Mapping[str, Any], platforms: tuple[str, ...] = ()) -> str:
    """Hash of a [packages] table's meaning (not its text: comments and layout do not count), and of the
    project's `platforms` when it lists any (a lock made for other platforms is stale)."""
    value: Any = dict(packages) if not platforms else {"packages": dict(packages), "platforms": list(platforms)}
    return "sha256:" + sha256(canonical_json(value).encode()).hexdigest()


def entry_text(value: Any) -> str:
    return canonical_json(value)


# --- reading ----------------------------------------------------------------------------------------------


def parse(text: str, where: str = LOCKNAME) -> Lock:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LockError(f"{where}: cannot parse ({e}); {RUN_LOCK} to rewrite it") from None
    except RecursionError:  # tomllib recurses once per level of nesting; envr writes no nesting at all
        from envr.project.file import too_deep_at

        line, col = too_deep_at(text)
        at = f":{line}:{col}" if line is not None else ""
        raise LockError(f"{where}{at}: arrays or inline tables nested too deeply; {RUN_LOCK} to rewrite it") from None
    version = data.get("version")
    if version != LOCK_VERSION:
        raise LockError(
            f"{where}: lock format version {version!r}, but this envr reads version {LOCK_VERSION}; "
            f"use a matching envr, or {RUN_LOCK} to rewrite it"
        )
    digest = data.get("packages_hash")
    packages = data.get("packages", {})
    if not isinstance(digest, str) or not isinstance(packages, dict):
        raise LockError(f"{where}: missing packages_hash or [packages]; {RUN_LOCK} to rewrite it")
    for name, entry in packages.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str) or "entry" not in entry:
            raise LockError(f"{where}: packages.{name} is incomplete; {RUN_LOCK} to rewrite it")
    return Lock(digest, packages)


def read(path: str) -> Lock | None:
    """The lock at path, or None if there is none."""
    from envr.fsutil import read_regular

    try:
        content = read_regular(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise LockError(f"{path}: cannot read: {e.strerror}") from None
    return from_bytes(content, path)


def from_bytes(content: bytes, path: str) -> Lock:
    """The lock these bytes hold (read once by the caller, who also hashed them for the approval). Parsed
    results are cached by content (marshal), so the prompt does not pay for tomllib on every entry."""
    key = sha256(b"envr.lock\0" + content).hexdigest()[:40]
    cached = memo_load("parsed-locks", key)
    if isinstance(cached, tuple) and len(cached) == 2:
        return Lock(cached[0], cached[1])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise LockError(f"{path}: not valid UTF-8; {RUN_LOCK} to rewrite it") from None
    lock = parse(text, path)
    memo_save("parsed-locks", key, (lock.packages_hash, lock.packages))
    return lock


def for_project(project: Project, content: bytes | Unread | None = UNREAD) -> Lock | None:
    """The project's lock if it has one, checked against envr.toml: a stale lock is an error naming
    `envr lock`, never a silent re-resolve. None when there is no lock (packages resolve as before locks).

    content: the lock's bytes as the caller read them (None: there is no lock), so that what was approved
    is what is used; by default the file is read now."""
    if isinstance(content, Unread):
        lock = read(project.lock_file)
    else:
        lock = None if content is None else from_bytes(content, project.lock_file)
    if lock is None:
        return None
    if lock.packages_hash != section_hash(project.packages, project.platforms):
        changed = differences(project.packages, lock)
        what = changed[0].lstrip("+-~ ") if changed else "[packages] changed"
        raise LockError(f"{project.lock_file} is stale ({what}); {RUN_LOCK}")
    return lock


def differences(packages: Mapping[str, Any], lock: Lock | None) -> list[str]:
    """Readable lines saying how envr.toml's [packages] and the lock disagree (empty: they agree on entries)."""
    if lock is None:
        return [f"no {LOCKNAME}"]
    out = []
    for name in sorted(set(packages) | set(lock.packages)):
        if name not in lock.packages:
            out.append(f"+ {name}: in envr.toml, not in {LOCKNAME}")
        elif name not in packages:
            out.append(f"- {name}: in {LOCKNAME}, no longer in envr.toml")
        else:
            now, then = entry_text(packages[name]), lock.packages[name]["entry"]
            if now != then:
                out.append(f"~ {name}: envr.toml has {now}, {LOCKNAME} was made from {then}")
    return out


# --- writing ----------------------------------------------------------------------------------------------


def _string(s: str) -> str:
    """A TOML basic string (canonical_json's string form, which TOML reads the same, DEL escaped too)."""
    return canonical_json(s).replace("\x7f", "\\u007f")


def _key(k: str) -> str:
    bare = k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k)
    return k if bare else _string(k)


def render(lock: Lock) -> str:
    lines = [HEADER, f"version = {LOCK_VERSION}", f"packages_hash = {_string(lock.packages_hash)}"]
    for name in sorted(lock.packages):
        entry = lock.packages[name]
        lines.append("")
        lines.append(f"[packages.{_key(name)}]")
        tables = []
        keys = [k for k in _ORDER if k in entry] + sorted(k for k in entry if k not in _ORDER)
        for key in keys:
            value = entry[key]
            if isinstance(value, dict):
                tables.append((key, value))
            elif isinstance(value, list):
                lines.append(f"{_key(key)} = [")
                lines.extend(f"    {_string(str(v))}," for v in value)
                lines.append("]")
            elif isinstance(value, bool):
                lines.append(f"{_key(key)} = {'true' if value else 'false'}")
            else:
                lines.append(f"{_key(key)} = {_string(str(value))}")
        for key, table in tables:
            lines.append("")
            lines.append(f"[packages.{_key(name)}.{_key(key)}]")
            lines.extend(f"{_key(k)} = {_string(str(table[k]))}" for k in sorted(table))
    return "\n".join(lines) + "\n"


# --- checking (offline) ----------------------------------------------------------------------------------


def check_entry(spec: PackageSpec, locked: Mapping[str, Any]) -> None:
    """Raise LockError if the lock's entry no longer fits what envr.toml points at (see mismatch)."""
    why = mismatch(spec, locked)
    if why is not None:
        raise LockError(f"packages.{spec.name}: {why}; {RUN_LOCK}")


def mismatch(spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
    """Why the lock's entry no longer fits what envr.toml points at (another kind, a path whose content
    changed), offline, as `envr lock --check` must be; None when it fits."""
    from envr.store.sources import source_for

    if locked.get("kind") != spec.kind:
        return f"{LOCKNAME} has kind {locked.get('kind')!r}, not {spec.kind!r}"
    return source_for(spec.kind).check_locked(spec, locked)


def label(entry: Mapping[str, Any] | None) -> str:
    """A short human name for what an entry pins: a version, else a hash prefix."""
    if entry is None:
        return "?"
    for key in ("version", "sha256", "content"):
        if key in entry:
            raw = entry[key]
            if isinstance(raw, dict):  # per platform
                return ",".join(str(v)[:8] for _, v in sorted(raw.items()))
            value = str(raw).removeprefix("sha256:")
            return value if key == "version" else value[:12]
    return "?"
