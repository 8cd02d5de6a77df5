"""The PATH dirs of a project's packages, as the prompt needs them, without resolving anything again.

Naming a package's store path means parsing the lock, making every recipe (pypi's imports `packaging`) and
hashing them: tens of milliseconds for a dozen tools, at every enter. The answer depends on little: the
approved content (toml + lock, by its hash), envr's version, the interpreter's version, the platform, the
store dir, and what each source says its recipe reads (Source.depends_on: a few environment values, the stat
signature of a local tree, which `node` PATH finds). So the view is cached under a key of the first group,
with the second group stored beside it as checks the prompt repeats with stats and string compares. Whether
the store paths are still valid is checked every time (one stat of each valid marker).
"""

from __future__ import annotations

import os
import sys

from envr import __version__
from envr.fsutil import key_of, memo_load, tree_signature, which_identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from envr.project.file import Project
    from envr.project.packages import View

MEMO = "views"


class Cached:
    """A View's fields, rebuilt from the cache (the real View lives in project.packages, off this path)."""

    __slots__ = ("bins", "failed", "missing", "paths")

    def __init__(self, bins: list[str], paths: dict[str, str], missing: list[str]) -> None:
        self.bins = bins
        self.paths = paths
        self.missing = missing
        self.failed: dict[str, str] = {}


def key(project: Project, digest: str, store: str) -> str:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return key_of(f"{__version__}\0{project.file}\0{digest}\0{store}\0{python}\0{sys.platform}\0{os.uname().machine}")


def holds(depends: list[tuple[str, str, object]], environ: Mapping[str, str]) -> bool:
    """Whether every recorded dependency is as it was."""
    for kind, what, expected in depends:
        if kind == "env":
            now: object = environ.get(what)
        elif kind == "tree":
            try:
                now = tree_signature(what)
            except OSError:
                return False
        elif kind == "which":
            now = which_identity(what, environ.get("PATH", os.defpath))
        else:
            return False
        if now != expected:
            return False
    return True


def lookup(project: Project, digest: str, store: str, environ: Mapping[str, str]) -> Cached | None:
    """The cached view, if everything it depends on holds; with validity checked now."""
    from envr.store import looks_valid

    hit = memo_load(MEMO, key(project, digest, store))
    if not (isinstance(hit, tuple) and len(hit) == 4):
        return None
    depends, paths, order, _ = hit
    if not holds(depends, environ):
        return None
    valid = {name for name, path in paths.items() if looks_valid(path)}
    if valid != set(paths):  # something is missing: which, and the order of the rest, need the full view
        return None
    return Cached([os.path.join(paths[name], ".envr", "bin") for name in order], dict(paths), [])


def compute(project: Project, digest: str, store: str, environ: Mapping[str, str], lock: bytes | None) -> View:
    from envr.project.packages import view

    return view(project, environ, lock, store)


def entry(project: Project, digest: str, store: str, view: View) -> tuple[str, object] | None:
    """What to cache for this view (prompt.commit writes it): only a complete one, all realised."""
    if view.missing or view.failed:
        return None
    by_bin = {os.path.join(path, ".envr", "bin"): name for name, path in view.paths.items()}
    order = [by_bin[b] for b in view.bins]
    return key(project, digest, store), (view.depends, view.paths, order, sorted(view.paths))
