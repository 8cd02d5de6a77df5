"""url entries: a file fetched over http(s) or file://, verified by sha256 before anything enters the store.

    { url = "...", sha256 = "<64 hex>", unpack = "auto" | "tar.gz" | "tar.xz" | "tar.bz2" | "zip" | "file",
      file = "name" (single files: the executable's name, default the package name), bin = ["globs"],
      version = "1.2", build = "script", inputs = ["pkg"] }

The recipe is the fixed output (sha256 plus unpack/bin/build options), never the URL: moving a file to a
mirror keeps its store path. Downloads are kept under the cache dir by sha256.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.errors import EnvrError
from envr.store.sources import _archive as archive
from envr.store.sources import _tree as build
from envr.store.sources.base import always_matches, depends_on_nothing, no_cli

TYPE_CHECKING = False  # validate/version/recipe run on the prompt's path: network and hashing imports are lazy
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import PackageSpec, RealiseContext, Source

OWN_KEYS = ("url", "sha256", "unpack", "file")
ATTEMPTS = 3
TIMEOUT = 30


class FetchError(EnvrError):
    pass


class UrlSource:
    kind: ClassVar[str] = "url"
    shorthand: ClassVar[bool] = False
    resolves: ClassVar[bool] = False
    cli_form: ClassVar[str | None] = None
    check_locked = staticmethod(always_matches)
    depends_on = staticmethod(depends_on_nothing)  # the lock's sha256 is the entry's, compared as entry text
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

        download = fetch(spec, ctx.progress)
        fmt = self._format(spec)

        def fill(dest: str) -> None:
            if fmt == "file":
                target = os.path.join(dest, "bin", str(spec.entry.get("file", spec.name)))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(download, target)
                os.chmod(target, 0o755)
            else:
                archive.unpack(download, fmt, dest, f"packages.{spec.name} ({spec.entry['url']})")

        build.realise_tree(spec, out, ctx, fill)

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        return build.bins(spec, out)

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        return {"sha256": str(spec.entry["sha256"]).lower()}


def fetch(spec: PackageSpec, progress: Callable[[int, int | None], None] | None = None) -> str:
    """The verified download in the cache (fetched now if needed); raises before anything reaches the store."""
    url: str = spec.entry["url"]
    expected: str = spec.entry["sha256"].lower()
    cache = os.path.join(dirs.cache_dir(), "downloads")
    os.makedirs(cache, exist_ok=True)
    final = os.path.join(cache, expected)
    from envr.store.hashing import file_sha256

    if os.path.exists(final) and file_sha256(final) == expected:
        return final
    part = f"{final}.part-{os.getpid()}-{id(spec)}"
    try:
        actual = _download(url, part, progress)
        if actual != expected:
            raise FetchError(f"packages.{spec.name}: sha256 mismatch for {url}: expected {expected}, got {actual}")
        os.replace(part, final)
    finally:
        if os.path.exists(part):
            os.unlink(part)
    return final


def _download(url: str, dest: str, progress: Callable[[int, int | None], None] | None = None) -> str:
    import hashlib
    import time
    import urllib.error
    import urllib.request

    last = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        h = hashlib.sha256()
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "envr"})
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp, open(dest, "wb") as f:
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                done = 0
                while chunk := resp.read(1 << 16):
                    h.update(chunk)
                    f.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            return h.hexdigest()
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code} {e.reason}"
            if e.code < 500 and e.code != 429:
                break
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)
            last = str(reason)
            if url.startswith("file:"):
                break
    raise FetchError(f"cannot fetch {url}: {last}")


SOURCE: Source = UrlSource()  # annotated: mypy checks the kind implements the whole interface
