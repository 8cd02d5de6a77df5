"""url entries: a file fetched over http(s) or file://, verified by sha256 before anything enters the store.

    { url = "...", sha256 = "<64 hex>", unpack = "auto" | "tar.gz" | "tar.xz" | "tar.bz2" | "zip" | "file",
      file = "name" (single files: the executable's name, default the package name), bin = ["globs"],
      version = "1.2", build = "script", inputs = ["pkg"] }

The recipe is the fixed output (sha256 plus unpack/bin/build options), never the URL: moving a file to a
mirror keeps its store path. Downloads are kept under the cache dir by sha256; their timeouts and deadline
(ENVR_HTTP_TIMEOUT, ENVR_HTTP_DEADLINE) are described in _fetch.py.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.errors import EnvrError
from envr.store.sources import _archive as archive
from envr.store.sources import _tree as build
from envr.store.sources.base import always_matches, no_cli

TYPE_CHECKING = False  # validate/version/recipe run on the prompt's path: network and hashing imports are lazy
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import PackageSpec, RealiseContext, Source

OWN_KEYS = ("url", "sha256", "unpack", "file")


class FetchError(EnvrError):
    pass


class UrlSource:
    kind: ClassVar[str] = "url"
    shorthand: ClassVar[bool] = False
    resolves: ClassVar[bool] = False
    cli_form: ClassVar[str | None] = None
    check_locked = staticmethod(always_matches)  # the lock's sha256 is the entry's, compared as entry text
    parse_cli = staticmethod(no_cli("url", '{ url = "...", sha256 = "..." }'))

    def validate(self, spec: PackageSpec) -> None:
        e = spec.entry
        build.validate_tree_keys(spec, OWN_KEYS)
        url = e.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "file://")):
            raise spec.error("url must be a string starting with http://, https:// or file://")
        sha = e.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha.lower()):
            raise spec.error('a url entry needs sha256 = "<64 hex digits>" (the file\'s sha256)')
        unpack = e.get("unpack", "auto")
        if unpack not in ("auto", *archive.FORMATS):
            raise spec.error(f"unpack must be one of auto, {', '.join(archive.FORMATS)}")
        name = e.get("file", spec.name)
        if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
            raise spec.error("file must be a plain file name")

    def _format(self, spec: PackageSpec) -> str:
        unpack = spec.entry.get("unpack", "auto")
        return archive.format_for(spec.entry["url"]) if unpack == "auto" else str(unpack)

    def version(self, spec: PackageSpec) -> str:
        return str(spec.entry.get("version") or spec.entry["sha256"].lower()[:8])

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        fmt = self._format(spec)
        recipe = {"sha256": spec.entry["sha256"].lower(), "unpack": fmt, **build.tree_recipe(spec)}
        if fmt == "file":
            recipe["file"] = spec.entry.get("file", spec.name)
        return recipe

    def builds_in_place(self, spec: PackageSpec) -> bool:
        return build.builds_in_place(spec)

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        import shutil

        environ = ctx.environ or os.environ
        download = fetch(spec, ctx.progress, environ)
        fmt = self._format(spec)

        def fill(dest: str) -> None:
            if fmt == "file":
                target = os.path.join(dest, "bin", str(spec.entry.get("file", spec.name)))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(download, target)
                os.chmod(target, 0o755)
            else:
                archive.unpack(download, fmt, dest, f"packages.{spec.name} ({spec.entry['url']})", environ)

        build.realise_tree(spec, out, ctx, fill)

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        return build.bins(spec, out)

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        return {"sha256": str(spec.entry["sha256"]).lower()}


def _cache() -> str:
    return os.path.join(dirs.cache_dir(), "downloads")


def fetch(
    spec: PackageSpec,
    progress: Callable[[int, int | None], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The verified download in the cache (fetched now if needed); raises before anything reaches the store."""
    from envr.store.hashing import file_sha256
    from envr.store.sources import _fetch

    url: str = spec.entry["url"]
    expected: str = spec.entry["sha256"].lower()
    cache = _cache()
    os.makedirs(cache, exist_ok=True)
    final = os.path.join(cache, expected)
    if os.path.exists(final) and file_sha256(final) == expected:
        return final
    part = f"{final}.part-{os.getpid()}-{id(spec)}"
    try:
        try:
            actual = _fetch.download(url, part, os.environ if environ is None else environ, progress)
        except _fetch.FetchError as e:
            raise FetchError(f"packages.{spec.name}: {e}") from None
        if actual != expected:
            raise FetchError(f"packages.{spec.name}: sha256 mismatch for {url}: expected {expected}, got {actual}")
        os.replace(part, final)
    finally:
        if os.path.exists(part):
            os.unlink(part)
    return final


SOURCE: Source = UrlSource()  # annotated: mypy checks the kind implements the whole interface
