"""Store path names and the content hash of a tree.

The store path is named by what was asked for (the recipe and the platform), so it is known before anything
is built; the content hash is over what was produced, and is what `envr store verify` checks again.
Naming a path runs on the prompt's lean path, so this module avoids json, re and OpenSSL: canonical_json is
written out (and tested equal to json.dumps(sort_keys=True, separators=(",", ":")) ).
"""

from __future__ import annotations

import os
import stat
import sys

from envr.fsutil import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HASH_CHARS = 32
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of one file's bytes: downloads checked against a pin, local npm tarballs."""
    h = sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def platform_id() -> str:
    return f"{sys.platform}-{os.uname().machine}"


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        elif ord(ch) > 0xFFFF:
            n = ord(ch) - 0x10000
            out.append(f"\\u{0xD800 | (n >> 10):04x}\\u{0xDC00 | (n & 0x3FF):04x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    out.append('"')
    return "".join(out)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, ASCII only: the same text for the same value, always."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(_string(k) + ":" + canonical_json(v) for k, v in items) + "}"
    raise TypeError(f"a recipe may hold only strings, integers, booleans, arrays and tables, not {value!r}")


def path_hash(recipe: Any) -> str:
    """Hash naming a store path: sha256 over {recipe, platform}, hex, truncated."""
    blob = canonical_json({"recipe": recipe, "platform": platform_id()}).encode()
    return sha256(blob).hexdigest()[:HASH_CHARS]


class NotStorableError(OSError):
    """An entry a store path cannot hold (a fifo, socket or device)."""


def tree_hash(root: str) -> tuple[str, int]:
    """A NAR-like sha256 over a file or tree (entry names, kinds, exec bits, contents, symlink targets) and the
    total size in bytes of its regular files. Owner, times and write bits do not count, and neither does the
    path's own record, <root>/.envr/info, which holds this very hash. Never follows a symlink (root included)."""
    h = sha256()
    size = _walk(root, h, os.path.join(root, ".envr", "info"))
    return "sha256:" + h.hexdigest(), size


def _walk(path: str, h: Any, skip: str) -> int:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path).encode("utf-8", "surrogateescape")
        h.update(b"(symlink %d:" % len(target) + target + b")")
        return 0
    if stat.S_ISDIR(st.st_mode):
        h.update(b"(dir")
        total = 0
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if full == skip:
                continue
            raw = name.encode("utf-8", "surrogateescape")
            h.update(b" entry %d:" % len(raw) + raw)
            total += _walk(full, h, skip)
        h.update(b")")
        return total
    if stat.S_ISREG(st.st_mode):
        executable = b"x" if st.st_mode & 0o100 else b"-"
        h.update(b"(file " + executable + b" %d:" % st.st_size)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        h.update(b")")
        return st.st_size
    raise NotStorableError(0, f"is {_kind(st.st_mode)}; a store path holds only files, directories and symlinks", path)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
