"""What changed since a project was approved: `... (packages: +ruff 0.6.9, -black 24.8.0, prettier 3.3.2 -> 3.3.3)`.

At each approval envr remembers what the approved files pin (a snapshot beside the approvals, not among them:
prune reads every file there as an approval); a blocked project is then described by comparing the files on
disk with that snapshot. Only a blocked project pays for it, never the prompt's usual path.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.fsutil import sha256, write_atomic
from envr.project.file import LOCKNAME
from envr.project.lockfile import LockError, entry_text, label, read
from envr.store.hashing import canonical_json


def _snapshot_file(project_file: str) -> str:
    """Beside the approvals, not among them (trust.prune reads every file there as an approval)."""
    from envr.trust.approvals import approval_file

    return os.path.join(dirs.data_dir(), "approved-packages", os.path.basename(approval_file(project_file)))


def package_labels(project_file: str) -> dict[str, str] | None:
    """name -> what it pins (a locked version or hash, else the entry as written), from the files on disk;
    None when envr.toml cannot be read as TOML (nothing can be said about its packages). Best effort: an
    unreadable lock gives the entries as written."""
    import tomllib

    try:
        with open(project_file, "rb") as f:
            table = tomllib.loads(f.read().decode("utf-8")).get("packages", {})
    except (OSError, ValueError, RecursionError):  # RecursionError: nesting too deep for tomllib
        return None
    if not isinstance(table, dict):
        return {}
    try:
        lock = read(os.path.join(os.path.dirname(project_file), LOCKNAME))
    except LockError:
        lock = None
    labels = {}
    for name, value in table.items():
        locked = lock.packages.get(name) if lock is not None else None
        if locked is not None and locked.get("entry") == entry_text(value):
            digest = sha256(canonical_json(locked).encode()).hexdigest()[:12]
            labels[name] = f"{label(locked)}\t{digest}"  # the digest: what else the lock pins (dependencies)
        elif isinstance(value, str):
            labels[name] = value
        elif isinstance(value, dict):
            from envr.store.sources import KINDS

            labels[name] = next((f"{k}:{value[k]}" for k in KINDS if k in value), "?")
    return labels


def record_approved(project_file: str) -> None:
    """Remember what the approved content pins, so a later block can say what changed."""
    labels = package_labels(project_file) or {}
    path = _snapshot_file(project_file)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, "".join(f"{name}\t{value}\n" for name, value in sorted(labels.items())))


def _shown(value: str) -> str:
    return value.split("\t", 1)[0]


def changes_since_approved(project_file: str) -> str | None:
    """'packages: +ruff 0.6.9, -black 24.8.0, prettier 3.3.2 -> 3.3.3' or None (nothing known or changed).
    Only called when a project is blocked, so the prompt's usual path never pays for it."""
    try:
        with open(_snapshot_file(project_file), encoding="utf-8") as f:
            before = dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
    except OSError:
        return None
    now = package_labels(project_file)
    if now is None:  # being edited into invalid TOML: the syntax error is what is said, not "-everything"
        return None
    parts = []
    for name in sorted(set(before) | set(now)):
        if name not in before:
            parts.append(f"+{name} {_shown(now[name])}")
        elif name not in now:
            parts.append(f"-{name} {_shown(before[name])}")
        elif _shown(before[name]) != _shown(now[name]):
            parts.append(f"{name} {_shown(before[name])} -> {_shown(now[name])}")
        elif before[name] != now[name]:
            parts.append(f"{name} {_shown(now[name])} (dependencies or hashes changed)")
    return "packages: " + ", ".join(parts) if parts else None
