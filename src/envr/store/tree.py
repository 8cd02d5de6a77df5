"""Operations on whole trees in the store: making one read-only once it is complete, and deleting one.

Neither ever follows a symlink: a build that replaced its output (or a directory in it) by a link to a user's
directory must not make envr change or delete what the link points at.
"""

from __future__ import annotations

import os
import shutil
import stat

WRITE_BITS = 0o222


def make_read_only(root: str) -> None:
    """Remove every write bit, and nothing else: a 0700 directory becomes 0500, a 0600 file 0400. The store
    never widens a mode, so what a source tree kept private stays private from other local users."""
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(0, "is not a directory", root)
    for parent, dirnames, filenames in os.walk(root, topdown=False):
        for name in dirnames + filenames:
            p = os.path.join(parent, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):  # a symlink's own mode means nothing
                os.chmod(p, stat.S_IMODE(st.st_mode) & ~WRITE_BITS)
    os.chmod(root, stat.S_IMODE(os.lstat(root).st_mode) & ~WRITE_BITS)


def force_remove(path: str) -> None:
    """Delete a tree even if it was made read-only (a symlink is removed, never followed)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    os.chmod(path, 0o700)
    for parent, dirnames, _ in os.walk(path):
        for name in dirnames:
            p = os.path.join(parent, name)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    shutil.rmtree(path)
