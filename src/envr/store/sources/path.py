"""path entries: a local directory (or single file) copied into the store, named by its content.

    { path = "./tools" (relative to the project), bin = ["globs"], version = "1", build = "script",
      inputs = ["pkg"] }

Changing any file gives a new store path. So that entering a project stays cheap, the content hash is cached
against a stat signature of the tree (names, modes, sizes, mtimes, ctimes, devices, inodes): unchanged trees
cost a walk of stats, not a read of every file.

The path must be what it reads as: one that is inside the project directory in envr.toml but leads out of it
through a symlink is refused. Inside the tree, symlinks are copied as links; one that resolves outside the
package is refused (the store path would depend on what it points at; _tree.check_links).
"""

from __future__ import annotations

import os

from envr import dirs
from envr.errors import EnvrError
from envr.fsutil import key_of, tree_signature, tree_stamp, write_atomic
from envr.store.sources import _tree as build
from envr.store.sources.base import CliSpec, claims_nothing, needs_nothing

TYPE_CHECKING = False  # recipe() runs on the prompt's path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import Dependency, PackageSpec, RealiseContext, Source

OWN_KEYS = ("path",)


class PathSource:
    kind: ClassVar[str] = "path"
    shorthand: ClassVar[bool] = False
    resolves: ClassVar[bool] = False
    cli_form: ClassVar[str | None] = "path:DIR"
    provides: ClassVar[str | None] = None
    claims = staticmethod(claims_nothing)
    needs = staticmethod(needs_nothing)

    def validate(self, spec: PackageSpec) -> None:
        build.validate_tree_keys(spec, OWN_KEYS)
        p = spec.entry.get("path")
        if not isinstance(p, str) or not p or "\0" in p:
            raise spec.error("path must be a non-empty string (a directory, relative to the project)")

    def location(self, spec: PackageSpec) -> str:
        where = os.path.expanduser(spec.entry["path"])
        return os.path.normpath(os.path.join(spec.project_root, where))

    def version(self, spec: PackageSpec) -> str:
        return str(spec.entry.get("version", "local"))

    def checked_location(self, spec: PackageSpec) -> str:
        """The entry's path, refused (file:line) when a symlink on the way leads out of the project directory:
        what a reviewer reads in envr.toml as a directory inside the repository must be one."""
        where = self.location(spec)
        if not os.path.lexists(where):
            raise EnvrError(f"{spec.project_file}: packages.{spec.name}: path {where} does not exist")
        root = os.path.normpath(spec.project_root)
        inside = where == root or where.startswith(root + os.sep)
        if inside:
            real, real_root = os.path.realpath(where), os.path.realpath(root)
            if real != real_root and not real.startswith(real_root + os.sep):
                raise spec.error(
                    f"path {spec.entry['path']!r} leads through a symlink to {real}, outside the project "
                    f"directory {root}; refused (write that directory's path in envr.toml if it is meant)"
                )
        if not os.path.exists(where):
            raise EnvrError(f"{spec.project_file}: packages.{spec.name}: path {where} is a dangling symlink")
        return where

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        where = self.checked_location(spec)
        content = content_hash(os.path.realpath(where))
        return {"content": content, "single_file": not os.path.isdir(where), **build.tree_recipe(spec)}

    def builds_in_place(self, spec: PackageSpec) -> bool:
        return build.builds_in_place(spec)

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        where = self.checked_location(spec)

        import shutil

        def fill(dest: str) -> None:
            if os.path.isdir(where):
                try:
                    shutil.copytree(where, dest, symlinks=True, dirs_exist_ok=True)
                except shutil.Error as e:  # every failed file, as (source, destination, reason) triples
                    first = e.args[0][0] if e.args and e.args[0] else ("?", "?", str(e))
                    raise EnvrError(
                        f"packages.{spec.name}: cannot copy {first[0]} into the store: {first[2]}"
                    ) from None
            else:
                target = os.path.join(dest, "bin", os.path.basename(where))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(where, target)
                os.chmod(target, 0o755)

        build.realise_tree(spec, out, ctx, fill)

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        return build.bins(spec, out)

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        return {"content": self.recipe(spec)["content"]}

    def depends_on(self, spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
        where = self.location(spec)
        return [("tree", where, tree_signature(where))]

    def check_locked(self, spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
        if "content" not in locked:
            return None
        now = self.recipe(spec)["content"]
        if now == locked["content"]:
            return None
        return (
            f"{spec.entry['path']} changed since envr.lock was written (envr.lock has {locked['content']}, now {now})"
        )

    def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
        """path:DIR (or a single file), relative to cwd; named after its last component."""
        where = os.path.abspath(os.path.join(cwd, os.path.expanduser(rest)))
        return CliSpec(text, self.kind, os.path.basename(where.rstrip(os.sep)) or "path", {"path": where})


# A change this recent may share its ctime tick with the next one, which no stamp could tell apart: such a
# tree is hashed but not cached (git's "racy" entries). Kernel timestamps tick in jiffies (a few ms); a
# filesystem keeping whole seconds gets a window to match.
RACY_NS = 20_000_000
COARSE_RACY_NS = 2_000_000_000


def racy_window(newest_ctime_ns: int) -> int:
    return COARSE_RACY_NS if newest_ctime_ns % 1_000_000_000 == 0 else RACY_NS


def content_hash(root: str) -> str:
    """The tree's content hash, reused while its stat signature is unchanged."""
    import time

    from envr.store.hashing import tree_hash

    cache = os.path.join(dirs.cache_dir(), "path-hashes", key_of(root, 32))
    started = time.time_ns()
    sig, newest = tree_stamp(root)
    try:
        with open(cache) as f:
            cached_sig, cached_hash = f.read().split()
        if cached_sig == sig:
            return cached_hash
    except (OSError, ValueError):
        pass
    digest, _ = tree_hash(root)
    # Remembered only if unchanged while hashing, and not changed within the racy window.
    if tree_stamp(root)[0] == sig and newest < started - racy_window(newest):
        try:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            write_atomic(cache, f"{sig} {digest}\n")
        except OSError:
            pass  # a cache: a full disk or read-only cache dir only costs a re-hash next time
    return digest


SOURCE: Source = PathSource()  # annotated: mypy checks the kind implements the whole interface
