"""Approvals: a project file runs only after the user approved its exact content.

An approval is one small file per project file under the data dir, named by a hash of the file's path and
holding a hash of the content it approved (envr.toml plus envr.lock beside it). The prompt hook watches that
one file, so `envr allow` and `envr deny` take effect at the very next prompt without a process per prompt.
"""

from __future__ import annotations

import os
import stat

from envr import dirs
from envr.errors import EnvrError
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
    """Whether digest is the approved content of project_file. A record counts only if it and the approvals dir
    are the user's own and writable by nobody else (as ssh treats its config): one fstat of the record read
    anyway, one stat of the dir. Anything else is "not allowed", naming the path and the fix."""
    record = approval_file(project_file)
    try:
        fd = os.open(record, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK)
    except FileNotFoundError:
        return Verdict(UNKNOWN, record)
    except OSError as e:  # a symlink (ELOOP), or unreadable
        return Verdict(f"{UNKNOWN} ({record}: {e.strerror}; remove it and run 'envr allow')", record)
    with open(fd, encoding="utf-8", errors="surrogateescape") as f:
        problem = _unsafe_dir(os.path.dirname(record)) or _unsafe(record, os.fstat(fd), regular=True)
        if problem is not None:
            return Verdict(f"{UNKNOWN} ({problem})", record)
        first = f.readline().strip()
    if first == "denied":
        return Verdict(DENIED, record)
    return Verdict(ALLOWED if first == digest else CHANGED, record)


def _unsafe(path: str, st: os.stat_result, regular: bool = False) -> str | None:
    """Why path (as st describes it) cannot hold approvals: not the user's, or writable by others."""
    if regular and not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file; remove it"
    if st.st_uid != os.geteuid():
        return f"{path} is owned by uid {st.st_uid}, not by you; remove it" + ("" if regular else " or fix its owner")
    if st.st_mode & 0o002 or (st.st_mode & 0o020 and not _private_group(st.st_gid)):
        return f"{path} is writable by others, so approvals could be forged; run chmod go-w {path}"
    return None


def _unsafe_dir(path: str) -> str | None:
    try:
        return _unsafe(path, os.stat(path))
    except OSError as e:
        return f"{path}: {e.strerror}"


def _private_group(gid: int) -> bool:
    """A user-private group (Debian's umask 002 makes dirs group-writable): the user's own primary group, named
    after them, with no other member. Only looked at when a dir is group-writable."""
    try:
        import grp
        import pwd

        me = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return gid == os.getegid() and group.gr_name == me and set(group.gr_mem) <= {me}


def unsafe_chain() -> str | None:
    """Why the approvals dir or a dir above it, up to the user's data dir base ($XDG_DATA_HOME) or HOME,
    cannot be trusted with approvals; None when all are the user's and writable by nobody else."""
    home = os.path.realpath(os.path.expanduser("~"))
    base = os.path.realpath(os.path.dirname(dirs.data_dir()))
    d = approvals_dir()
    while True:
        if os.path.isdir(d):
            problem = _unsafe_dir(d)
            if problem is not None:
                return problem
        real = os.path.realpath(d)
        parent = os.path.dirname(d)
        if real in (home, base) or parent == d:
            return None
        d = parent


def _write(project_file: str, first_line: str) -> None:
    problem = unsafe_chain()
    if problem is not None:
        raise EnvrError(f"cannot record an approval: {problem}")
    record = approval_file(project_file)
    folder = os.path.dirname(record)
    if not os.path.isdir(folder):
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        try:  # noqa: SIM105 (contextlib is not on the prompt's path)
            os.mkdir(folder, 0o700)  # approvals are the user's alone
        except FileExistsError:
            pass
    write_atomic(record, f"{first_line}\n{os.path.abspath(project_file)}\n")


def approve(project_file: str, digest: str | None = None) -> str:
    """Trust the file's content (and its lock's): as hashed by the caller, or as it is now. Returns the hash.
    Refused (EnvrError, nothing written) when the approvals dir or one above it is not safely the user's."""
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
