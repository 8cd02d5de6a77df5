"""Store path names and the content hash of a tree.

The store path is named by what was asked for (the recipe and the platform), so it is known before anything
is built; the content hash is over what was produced, and is what `envr store verify` checks again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import sys
from typing import Any

HASH_CHARS = 32


def platform_id() -> str:
    return f"{sys.platform}-{platform.machine()}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def path_hash(recipe: Any) -> str:
    """Hash naming a store path: sha256 over {recipe, platform}, hex, truncated."""
    blob = canonical_json({"recipe": recipe, "platform": platform_id()}).encode()
    return hashlib.sha256(blob).hexdigest()[:HASH_CHARS]


def tree_hash(root: str) -> tuple[str, int]:
    """A NAR-like sha256 over a file or tree (entry names, kinds, exec bits, contents, symlink targets) and the
    total size in bytes of its regular files. Owner, times and write bits do not count."""
    h = hashlib.sha256()
    size = _walk(root, h)
    return "sha256:" + h.hexdigest(), size


def _walk(path: str, h: Any) -> int:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path).encode("utf-8", "surrogateescape")
        h.update(b"(symlink %d:" % len(target) + target + b")")
        return 0
    if stat.S_ISDIR(st.st_mode):
        h.update(b"(dir")
        total = 0
        for name in sorted(os.listdir(path)):
            raw = name.encode("utf-8", "surrogateescape")
            h.update(b" entry %d:" % len(raw) + raw)
            total += _walk(os.path.join(path, name), h)
        h.update(b")")
        return total
    if stat.S_ISREG(st.st_mode):
        executable = b"x" if st.st_mode & 0o100 else b"-"
        h.update(b"(file " + executable + b" %d:" % st.st_size)
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        h.update(b")")
        return st.st_size
    raise OSError(f"{path}: not a regular file, directory or symlink")
