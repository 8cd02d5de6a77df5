"""path entries: a local directory (or single file) copied into the store, named by its content.

    { path = "./tools" (relative to the project), bin = ["globs"], version = "1", build = "script",
      inputs = ["pkg"] }

Changing any file gives a new store path. So that entering a project stays cheap, the content hash is cached
against a stat signature of the tree (names, modes, sizes, mtimes): unchanged trees cost a walk of stats, not
a read of every file.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.errors import EnvrError
from envr.fsutil import key_of, tree_signature, write_atomic
from envr.store.sources import _tree as build
from envr.store.sources.base import CliSpec

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

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        where = self.location(spec)
        if not os.path.exists(where):
            raise EnvrError(f"{spec.project_file}: packages.{spec.name}: path {where} does not exist")
        return {"content": content_hash(where), "single_file": not os.path.isdir(where), **build.tree_recipe(spec)}

    def builds_in_place(self, spec: PackageSpec) -> bool:
        return build.builds_in_place(spec)

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        where = self.location(spec)
        if not os.path.exists(where):
            raise EnvrError(f"{spec.project_file}: packages.{spec.name}: path {where} does not exist")

        import shutil

        def fill(dest: str) -> None:
            if os.path.isdir(where):
                shutil.copytree(where, dest, symlinks=True, dirs_exist_ok=True)
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


def content_hash(root: str) -> str:
    """The tree's content hash, reused while its stat signature is unchanged."""
    from envr.store.hashing import tree_hash

    cache = os.path.join(dirs.cache_dir(), "path-hashes", key_of(root, 32))
    sig = tree_signature(root)
    try:
        with open(cache) as f:
            cached_sig, cached_hash = f.read().split()
        if cached_sig == sig:
            return cached_hash
    except (OSError, ValueError):
        pass
    digest, _ = tree_hash(root)
    if tree_signature(root) == sig:  # unchanged while hashing: safe to remember
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        write_atomic(cache, f"{sig} {digest}\n")
    return digest


SOURCE: Source = PathSource()  # annotated: mypy checks the kind implements the whole interface
