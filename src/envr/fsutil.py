"""File-system primitives every layer shares, written once.

Import-light (os, and the builtin sha256), because the prompt's path uses them: no typing, no hashlib/OpenSSL.

- write_atomic: a temp file beside the target, then rename(2): a reader sees the old or the new bytes, never a
  mix, and a crash leaves at worst a `*.tmp` file that nothing reads.
- read_regular: read a file that must be a plain file of bounded size. A symlink, fifo or device in a cloned
  repository must never make envr block on a read or swallow a terminal (`envr.lock -> /dev/tty`).
- memo_load / memo_save: marshal'd caches under the cache dir, keyed by a hash of exactly what they were made
  from, so a stale entry is simply never looked up again.
- key_of: the short hash that names per-project-file state (approvals, generations, markers).
"""

from __future__ import annotations

import errno
import os
import stat

from envr import dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hashlib import sha256 as sha256
else:
    try:  # the builtin module skips loading OpenSSL, which the prompt's path would feel
        from _sha256 import sha256
    except ImportError:  # Python 3.12+ (_sha2), other interpreters
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256

TMP_SUFFIX = ".tmp"
READ_LIMIT = 64 << 20  # project files and locks are text a person reviews; 64 MiB is far beyond any real one


def write_atomic(path: str, data: str | bytes, mode: int = 0o644) -> None:
    """Replace path's content with data (text is written as UTF-8, surrogates kept as their bytes)."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    tmp = f"{path}.{os.getpid()}{TMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


class NotRegularError(OSError):
    """What read_regular refuses: not a plain file, or larger than the limit."""


def read_regular(path: str, limit: int = READ_LIMIT, follow: bool = True) -> bytes:
    """The bytes of path, which must be a regular file of at most limit bytes.

    Opened non-blocking, so a fifo cannot stall the caller; checked with fstat on the open descriptor, so what
    is checked is what is read. follow=False also refuses a symlink (O_NOFOLLOW). Raises FileNotFoundError,
    NotRegularError or another OSError.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if not follow and e.errno == errno.ELOOP:  # the last component is a symlink
            raise NotRegularError(e.errno, "is a symbolic link, not a regular file", path) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularError(0, "is not a regular file (a fifo, device or directory)", path)
        if st.st_size > limit:
            raise NotRegularError(0, f"is larger than {limit >> 20} MiB", path)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:  # grew while being read
            raise NotRegularError(0, f"is larger than {limit >> 20} MiB", path)
        return data
    finally:
        os.close(fd)


def key_of(text: str, length: int = 40) -> str:
    """A short, stable hash of text (a path, usually) for naming state files."""
    return sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:length]


def memo_file(kind: str, key: str) -> str:
    return os.path.join(dirs.cache_dir(), kind, key)


def memo_load(kind: str, key: str) -> object:
    """The value memo_save stored under (kind, key), or None if there is none or it cannot be read."""
    import marshal

    try:
        with open(memo_file(kind, key), "rb") as f:
            return marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return None


def memo_save(kind: str, key: str, value: object) -> None:
    """Remember value (best effort: a read-only cache dir or a value marshal cannot hold is not an error)."""
    import marshal

    try:
        data = marshal.dumps(value)  # type: ignore[arg-type]  # anything marshal refuses is ValueError, below
        path = memo_file(kind, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, data)
    except (OSError, ValueError):
        pass


def tree_stamp(root: str) -> tuple[str, int]:
    """A cheap fingerprint of a file or tree, and the newest ctime in it. Per entry: name, kind and mode, size,
    device and inode, mtime and ctime. ctime is the one time a user cannot set, so an edit that keeps the size
    and restores the mtime (touch -d, tar, rsync -t) still shows; device and inode catch a replaced file."""
    h = sha256()
    newest = 0

    def add(rel: bytes, st: os.stat_result) -> None:
        nonlocal newest
        newest = max(newest, st.st_ctime_ns)
        stamp = b"%d %d %d %d %d %d" % (st.st_mode, st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
        h.update(rel + b"\0" + stamp + b"\n")

    add(b".", os.lstat(root))
    if os.path.isdir(root) and not os.path.islink(root):
        for parent, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                p = os.path.join(parent, name)
                add(os.path.relpath(p, root).encode("utf-8", "surrogateescape"), os.lstat(p))
    return h.hexdigest(), newest


def tree_signature(root: str) -> str:
    """tree_stamp's fingerprint alone: what a cached answer about the tree depends on. Stats only."""
    return tree_stamp(root)[0]


def which_identity(command: str, path_value: str) -> str:
    """Which file `command` runs as on this PATH, and which version of that file (inode, size, mtime): a recipe
    that asks a tool for its version can be trusted to get the same answer while this is unchanged."""
    for d in path_value.split(":") if path_value else []:
        candidate = os.path.join(d or ".", command)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(candidate, os.X_OK):
            return f"{os.path.realpath(candidate)} {st.st_ino} {st.st_size} {st.st_mtime_ns}"
    return ""
