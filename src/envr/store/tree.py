"""Operations on whole trees in the store: making one read-only once it is complete, and deleting one."""

from __future__ import annotations

import os
import shutil
import stat


def make_read_only(root: str) -> None:
    for parent, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            p = os.path.join(parent, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                os.chmod(p, stat.S_IMODE(st.st_mode) & ~0o222)
        for name in dirnames:
            p = os.path.join(parent, name)
            if not os.path.islink(p):
                os.chmod(p, 0o555)
    os.chmod(root, 0o555)


def force_remove(path: str) -> None:
    """Delete a tree even if it was made read-only."""
    if not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        for parent, dirnames, _ in os.walk(path):
            for name in dirnames:
                p = os.path.join(parent, name)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
        shutil.rmtree(path)
    else:
        os.unlink(path)
