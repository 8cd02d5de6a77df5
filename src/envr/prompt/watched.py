"""What the hook checks with builtins before each prompt: any change brings the core back.

Two lists, because they live differently in the hook: `base` files matter wherever the shell is (the profile's
`current` link), `project` files only while the project is loaded (its envr.toml and envr.lock, its approval, its
pin, the valid markers of its store paths): when the hook leaves a project by itself it drops the project list.
Files that must stay absent (an envr.toml appearing between $PWD and the project) are not listed: the hook finds
them itself whenever $PWD moves, with the same walk the core does.

Stamps are files whose mtime is exactly a watched file's mtime, for `-nt`/`-ot` tests. Computing writes nothing:
the stamps a Watched needs are made by prompt.commit.
"""

from __future__ import annotations

import os
import time

from envr import dirs

# A file modified this recently may be modified again within the same filesystem timestamp tick, which an
# mtime comparison cannot see (git's "racy" entries); such a file is re-checked at the next prompt. On a
# filesystem keeping whole seconds (ext3, HFS+, FAT), the window is a tick of that size.
RACY_NS = 100_000_000
COARSE_RACY_NS = 3_000_000_000


PRESENT = -1  # the mtime Watched records for a file watched for its existence alone
PRESENT_STAMP = "+"  # how the hook is told so (a stamp is otherwise an absolute path)


def stamp_path(mtime_ns: int) -> str:
    return os.path.join(dirs.cache_dir(), "stamps", str(mtime_ns))


class Watched:
    """Files and their mtimes as the core saw them (None: absent, to be noticed when it appears)."""

    __slots__ = ("base", "project", "racy")

    def __init__(self) -> None:
        self.base: list[tuple[str, int | None]] = []
        self.project: list[tuple[str, int | None]] = []
        self.racy = False

    def expect(self, path: str, project: bool = True) -> None:
        """Watch path for creation, deletion or modification, whichever state it is in now."""
        try:
            mtime: int | None = os.stat(path).st_mtime_ns
        except OSError:
            mtime = None
        (self.project if project else self.base).append((path, mtime))
        if mtime is None:
            return
        window = COARSE_RACY_NS if mtime % 1_000_000_000 == 0 else RACY_NS
        if abs(time.time_ns() - mtime) < window:  # a file stamped in the future is not racy
            self.racy = True

    def expect_present(self, path: str) -> None:
        """Watch only whether path exists (a store path's valid marker: an empty file that is made or removed,
        never edited): one stat at each prompt instead of four."""
        self.project.append((path, PRESENT if os.path.exists(path) else None))

    def files(self) -> list[tuple[str, int | None]]:
        return self.base + self.project
