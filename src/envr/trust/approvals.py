"""Approvals: a project file runs only after the user approved its exact content.

An approval is one small file per project file under the data dir, named by a hash of the file's path and
holding a hash of the content it approved (envr.toml plus envr.lock beside it). The prompt hook watches that
one file, so `envr allow` and `envr deny` take effect at the very next prompt without a process per prompt.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.fsutil import TMP_SUFFIX, key_of, sha256, write_atomic
from envr.project.file import LOCKNAME

ALLOWED = "allowed"
UNKNOWN = "not allowed"
CHANGED = "changed since allowed"
DENIED = "denied"


def approvals_dir() -> str:
    return os.path.join(dirs.data_dir(), "allow")


def approval_file(project_file: str) -> str:
    """Where the approval of this project file lives (present or not)."""
    return os.path.join(approvals_dir(), key_of(os.path.abspath(project_file)))


def digest(content: bytes, lock: bytes | None) -> str:
    """Hash of what an approval covers: the project file's bytes and its lock's (None: there is none)."""
    h = sha256()
    h.update(b"envr.toml\0%d\0" % len(content))
    h.update(content)
    if lock is None:
        h.update(b"no envr.lock")
    else:
        h.update(b"envr.lock\0%d\0" % len(lock))
        h.update(lock)
    return h.hexdigest()


def read_lock(project_file: str) -> bytes | None:
    """envr.lock's bytes beside project_file (None: there is none). A lock that is a symlink, fifo or device
    is refused (NotRegularError, an OSError), so a cloned repository cannot make envr read /dev/tty."""
    from envr.errors import EnvrError
    from envr.fsutil import NotRegularError, read_regular

    path = os.path.join(os.path.dirname(project_file), LOCKNAME)
    try:
        return read_regular(path, follow=False)
    except FileNotFoundError:
        return None
    except NotRegularError as e:
        raise EnvrError(f"{path} {e.strerror}; envr reads only a regular file there") from None


def content_hash(project_file: str, content: bytes | None = None) -> str:
    """Hash of what an approval covers, reading the files now (the prompt reads them once itself and uses
    digest(), so the bytes hashed are the bytes parsed)."""
    if content is None:
        with open(project_file, "rb") as f:
            content = f.read()
    return digest(content, read_lock(project_file))


class Verdict:
    __slots__ = ("approval_file", "state")

    def __init__(self, state: str, approval_file: str) -> None:
        self.state = state
        self.approval_file = approval_file

    @property
    def allowed(self) -> bool:
        return self.state == ALLOWED


def check(project_file: str, digest: str) -> Verdict:
    record = approval_file(project_file)
    try:
        with open(record, encoding="utf-8", errors="surrogateescape") as f:
            first = f.readline().strip()
    except FileNotFoundError:
        return Verdict(UNKNOWN, record)
    if first == "denied":
        return Verdict(DENIED, record)
    return Verdict(ALLOWED if first == digest else CHANGED, record)


def _write(project_file: str, first_line: str) -> None:
    record = approval_file(project_file)
    os.makedirs(os.path.dirname(record), exist_ok=True)
    write_atomic(record, f"{first_line}\n{os.path.abspath(project_file)}\n")


def approve(project_file: str, digest: str | None = None) -> str:
    """Trust the file's content (and its lock's): as hashed by the caller, or as it is now. Returns the hash."""
    digest = digest or content_hash(project_file)
    _write(project_file, digest)
    return digest


def deny(project_file: str) -> None:
    _write(project_file, "denied")


def records() -> list[tuple[str, str, str]]:
    """(record file, first line, project file) for every approval record: first is a content hash or 'denied'."""
    out: list[tuple[str, str, str]] = []
    try:
        names = os.listdir(approvals_dir())
    except FileNotFoundError:
        return out
    for name in names:
        if name.endswith(TMP_SUFFIX):
            continue
        record = os.path.join(approvals_dir(), name)
        try:
            with open(record, encoding="utf-8", errors="surrogateescape") as f:
                first = f.readline().strip()
                path = f.readline().rstrip("\n")
        except OSError:
            continue
        out.append((record, first, path))
    return out


def approved() -> dict[str, str]:
    """Project file -> the content hash its approval names, for approvals (not denials) of existing files."""
    return {path: first for _, first, path in records() if first and first != "denied" and os.path.isfile(path)}


def prune() -> list[str]:
    """Drop approvals of project files that no longer exist; returns their paths."""
    dropped = []
    for record, _, path in records():
        if not path or not os.path.exists(path):
            os.unlink(record)
            dropped.append(path or record)
    return dropped
