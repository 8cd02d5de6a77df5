"""url entries: a file fetched over http(s) or file://, verified by sha256 before anything enters the store.

    { url = "...", sha256 = "<64 hex>", unpack = "auto" | "tar" | "tar.gz" | "tar.xz" | "tar.bz2" | "zip"
      | "whl" | "file", file = "name" (single files: the executable's name, default the package name),
      bin = ["globs"] or { name = "path" }, version = "1.2", build = "script", inputs = ["pkg"] }

What the URL's name ends with says how it is unpacked (`unpack` overrides it): `.tar.gz`/`.tgz`,
`.tar.xz`/`.txz`, `.tar.bz2`/`.tbz2`/`.tbz` and `.tar` are tarballs (the compression is read from the content),
`.zip` a zip, `.whl` a wheel (a zip); anything else is kept as one executable named `file`. Unpacking is
envr's own (see _archive.py): nothing in an archive can land or point outside the store path.

Which executables go on PATH (`bin`):
- by default `bin/*` (executables only); if there is none and the archive holds a single top-level directory
  with a `bin/` inside (`node-v22.1.0-linux-x64/bin/`), that one; an `npm pack` tarball's bins under the
  names its package/package.json declares; for a wheel, the scripts it ships (`*.data/scripts/*`). A package
  that exposes nothing gets a one-line warning.
- `bin = ["*/tools/rg", "share/x.sh"]`: globs relative to the unpacked tree (or to $out after a build);
- `bin = { semver = "package/bin/semver.js" }`: the same, renamed on PATH.
The files chosen are made executable. A wheel whose executables are only entry points (Python console
scripts) cannot run from an unpacked wheel: use `{ pypi = "name @ URL" }` for it instead.

On the command line, `envr add url:https://.../rg-14.1.0-x86_64-linux.tar.gz` (and `shell -p url:...`)
downloads the file once into the download cache, computes its sha256, and writes the entry
`{ url = "...", sha256 = "..." }` named after the file (`rg`: versions, platforms and suffixes dropped).

The recipe is the fixed output (sha256 plus unpack/bin/build options), never the URL: moving a file to a
mirror keeps its store path. Downloads are kept under the cache dir by sha256; their timeouts and deadline
(ENVR_HTTP_TIMEOUT, ENVR_HTTP_DEADLINE) are described in _fetch.py.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.store.sources import _archive as archive
from envr.store.sources import _tree as build
from envr.store.sources.base import (
    CliSpec,
    PackageSpec,
    always_matches,
    claims_nothing,
    depends_on_nothing,
    needs_nothing,
)

TYPE_CHECKING = False  # validate/version/recipe run on the prompt's path: network and hashing imports are lazy
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import RealiseContext, Source

OWN_KEYS = ("url", "sha256", "unpack", "file")
SCHEMES = ("http://", "https://", "file://")
RENAMED = ".envr-renamed"  # links giving table-form bins their names on PATH (.envr itself is the store's)
WHEEL_SCRIPTS = "*.data/scripts/*"
_PLATFORM_WORDS = frozenset(
    {
        "linux",
        "darwin",
        "macos",
        "osx",
        "apple",
        "windows",
        "win",
        "win32",
        "win64",
        "amd64",
        "x86_64",
        "x64",
        "x86",
        "i386",
        "i686",
        "386",
        "arm",
        "arm64",
        "aarch64",
        "armv6",
        "armv6l",
        "armv7",
        "armv7l",
        "armhf",
        "ppc64le",
        "s390x",
        "riscv64",
        "musl",
        "gnu",
        "gnueabihf",
        "static",
        "unknown",
        "pc",
        "universal",
        "linux64",
        "linux32",
        "portable",
        "bin",
        "binary",
    }
)


class FetchError(EnvrError):
    pass


def _bin_table(spec: PackageSpec) -> dict[str, str] | None:
    table = spec.entry.get("bin")
    return table if isinstance(table, dict) else None


def _validate_bin_table(spec: PackageSpec, table: dict[str, Any]) -> None:
    for name, rel in table.items():
        if not name or "/" in name or name.startswith(".") or not isinstance(rel, str) or not rel:
            raise spec.error('bin as a table maps executable names to paths: bin = { tool = "dir/tool.sh" }')


class UrlSource:
    kind: ClassVar[str] = "url"
    shorthand: ClassVar[bool] = False
    resolves: ClassVar[bool] = False
    cli_form: ClassVar[str | None] = "url:URL"
    provides: ClassVar[str | None] = None
    claims = staticmethod(claims_nothing)
    needs = staticmethod(needs_nothing)
    check_locked = staticmethod(always_matches)  # the lock's sha256 is the entry's, compared as entry text
    depends_on = staticmethod(depends_on_nothing)

    def validate(self, spec: PackageSpec) -> None:
        e = spec.entry
        table = _bin_table(spec)
        if table is not None:  # the tree keys' check knows the list form only
            _validate_bin_table(spec, table)
            rest = {k: v for k, v in e.items() if k != "bin"}
            whole = spec
            spec = PackageSpec(
                whole.name, whole.kind, rest, whole.project_root, whole.project_file, locate=lambda: whole.line
            )
        build.validate_tree_keys(spec, OWN_KEYS)
        urls, shas = e.get("url"), e.get("sha256")
        if isinstance(urls, dict):  # per platform: url = { linux-x64 = "...", ... }, sha256 the same shape
            from envr.store.sources._runtime import PLATFORMS as PLATFORM_WORDS

            unknown = sorted(set(urls) - set(PLATFORM_WORDS))
            if unknown or not urls:
                raise spec.error(f"url tables are keyed by platform ({', '.join(PLATFORM_WORDS)}), not {unknown}")
            if not isinstance(shas, dict) or set(shas) != set(urls):
                raise spec.error("a url table needs a sha256 table with the same platforms")
        else:
            urls, shas = {"": urls}, {"": shas}
        for url in urls.values():
            if not isinstance(url, str) or not url.startswith(SCHEMES):
                raise spec.error("url must be a string starting with http://, https:// or file://")
        for sha in shas.values():
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
        return archive.format_for(for_platform(spec)[0]) if unpack == "auto" else str(unpack)

    def version(self, spec: PackageSpec) -> str:
        return str(spec.entry.get("version") or for_platform(spec)[1][:8])

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        fmt = self._format(spec)
        recipe = {"sha256": for_platform(spec)[1], "unpack": fmt, **build.tree_recipe(spec)}
        if fmt == "file":
            recipe["file"] = spec.entry.get("file", spec.name)
        return recipe

    def builds_in_place(self, spec: PackageSpec) -> bool:
        return build.builds_in_place(spec)

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        import shutil

        environ = ctx.environ or os.environ
        url = for_platform(spec)[0]
        what = f"packages.{spec.name} ({url})"
        fmt = self._format(spec)
        try:
            ctx.phase(spec.name, "downloading")
            download = fetch(spec, ctx.progress, environ)
            ctx.phase(spec.name, "unpacking")

            def fill(dest: str) -> None:
                if fmt == "file":
                    target = os.path.join(dest, "bin", str(spec.entry.get("file", spec.name)))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(download, target)
                    os.chmod(target, 0o755)
                    return
                archive.unpack(download, fmt, dest, what, environ)
                if fmt == "whl":
                    _wheel_scripts(dest, what)

            if "build" in spec.entry:
                ctx.phase(spec.name, "building")
            build.realise_tree(spec, out, ctx, fill)
            found = self._choose(spec, out, what)
            if not found:
                where = WHEEL_SCRIPTS if fmt == "whl" else "bin/ or in a single top directory's bin/"
                ctx.warn(
                    f"packages.{spec.name}: {url} exposes no executable (none in {where}); "
                    'name them with bin = ["path/*"] or bin = { tool = "path/to/tool" }'
                )
        finally:
            ctx.phase(spec.name, None)

    def _choose(self, spec: PackageSpec, out: Path, what: str) -> list[str]:
        """The executables (made executable), with table-form bins (and an `npm pack` tarball's declared
        bins) linked under their names."""
        table = _bin_table(spec)
        if table is None and "bin" not in spec.entry and "build" not in spec.entry:
            table = _npm_bins(out)
        if table is not None:
            os.makedirs(os.path.join(out, RENAMED), exist_ok=True)
            for name, pattern in table.items():
                rel = _one(spec, out, pattern)
                link = os.path.join(out, RENAMED, name)
                os.symlink(os.path.relpath(os.path.join(out, rel), os.path.dirname(link)), link)
        found = self.bins(spec, out)
        real_out = os.path.realpath(out)
        for rel in found:
            real = os.path.realpath(os.path.join(out, rel))
            if real.startswith(real_out + os.sep) and os.path.isfile(real):
                os.chmod(real, os.stat(real).st_mode & 0o777 | 0o555)
        return found

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        table = _bin_table(spec)
        if table is not None:
            return [os.path.join(RENAMED, name) for name in table]
        if "bin" in spec.entry:
            return build.bins(spec, out)
        if os.path.isdir(os.path.join(out, RENAMED)):  # an `npm pack` tarball's declared bins
            return sorted(os.path.join(RENAMED, n) for n in os.listdir(os.path.join(out, RENAMED)))
        import glob

        if self._format(spec) == "whl":
            return sorted(p for p in glob.glob(WHEEL_SCRIPTS, root_dir=out) if os.path.isfile(os.path.join(out, p)))
        found = build.bins(spec, out)  # bin/*, executables only
        if found or "build" in spec.entry:
            return found
        tops = [n for n in os.listdir(out) if not n.startswith(".")]
        top = os.path.join(out, tops[0]) if len(tops) == 1 else None
        if top is None or os.path.islink(top) or not os.path.isdir(os.path.join(top, "bin")):
            return []
        files = sorted(
            p
            for p in glob.glob(os.path.join(glob.escape(tops[0]), "bin", "*"), root_dir=out)
            if os.path.isfile(os.path.join(out, p))
        )
        executable = [p for p in files if os.access(os.path.join(out, p), os.X_OK)]
        return executable or files  # a bin/ of plain files (modes lost on the way): they are the executables

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        shas = spec.entry["sha256"]
        if not isinstance(shas, dict):
            return {"sha256": str(shas).lower()}
        from envr.store.sources._runtime import platforms_of

        lost = [p for p in platforms_of(spec) if p not in shas]
        if lost:
            raise spec.error(f"the url table has no {lost[0]} entry (platforms lists it)")
        return {"sha256": {p: str(v).lower() for p, v in sorted(shas.items())}}

    def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
        """url:URL: downloaded once into the cache to learn its sha256; named after the file."""
        url = rest.strip()
        if not url.startswith(SCHEMES) or len(url) <= len(url.split("//", 1)[0]) + 2:
            raise EnvrError(f"{text!r}: give url:https://..., url:http://... or url:file:///...")
        sha = fetch_new(url, os.environ)
        if archive.format_for(url) == "whl":
            from envr.store.sources import _fetch

            _wheel_check(os.path.join(_fetch.cache_dir(), sha), text)
        return CliSpec(text, self.kind, name_from_url(url), {"url": url, "sha256": sha})


def for_platform(spec: PackageSpec) -> tuple[str, str]:
    """(url, sha256) this machine uses: the entry's, or its current platform's row of url/sha256 tables."""
    urls, shas = spec.entry["url"], spec.entry["sha256"]
    if not isinstance(urls, dict):
        return str(urls), str(shas).lower()
    from envr.store.sources._runtime import current_platform

    here = current_platform()
    if here not in urls:
        raise spec.error(f"no url for this platform, {here} (the table has {', '.join(sorted(urls))})")
    return str(urls[here]), str(shas[here]).lower()


def _npm_bins(out: Path) -> dict[str, str] | None:
    """What an `npm pack` tarball's package.json declares as bins, as a table of paths under package/."""
    import glob
    import json

    try:
        with open(os.path.join(out, "package", "package.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    declared = manifest.get("bin") if isinstance(manifest, dict) else None
    if isinstance(declared, str) and isinstance(manifest.get("name"), str):
        declared = {manifest["name"].rsplit("/", 1)[-1]: declared}
    if not isinstance(declared, dict):
        return None
    table = {}
    for name, rel in declared.items():
        if isinstance(name, str) and isinstance(rel, str) and name and "/" not in name and not name.startswith("."):
            rel = os.path.normpath(rel)
            if not rel.startswith(("..", "/")):
                table[name] = os.path.join("package", glob.escape(rel))
    return table or None


def _one(spec: PackageSpec, out: Path, pattern: str) -> str:
    import glob

    matches = sorted(m for m in glob.glob(pattern, root_dir=out) if os.path.isfile(os.path.join(out, m)))
    if len(matches) != 1:
        found = "no file" if not matches else f"{len(matches)} files"
        raise EnvrError(f"packages.{spec.name}: bin path {pattern!r} matched {found} (it must name exactly one)")
    return matches[0]


def _wheel_scripts(dest: str, what: str) -> None:
    """Make a wheel's scripts executable (installers do); refuse a wheel whose executables are all entry points."""
    import glob

    scripts = [p for p in glob.glob(WHEEL_SCRIPTS, root_dir=dest) if os.path.isfile(os.path.join(dest, p))]
    for rel in scripts:
        full = os.path.join(dest, rel)
        os.chmod(full, os.stat(full).st_mode & 0o777 | 0o555)
    if not scripts and _entry_points(dest):
        raise EnvrError(f"{what}: {_WHEEL_HINT.format(name=_wheel_name(dest))}")


_WHEEL_HINT = (
    "the wheel's executables are Python entry points, which only an install creates; "
    'use {{ pypi = "{name} @ URL" }} for it instead'
)


def _entry_points(dest: str) -> bool:
    import configparser
    import glob

    for path in glob.glob("*.dist-info/entry_points.txt", root_dir=dest):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(os.path.join(dest, path), encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        if any(parser.has_section(s) and parser.options(s) for s in ("console_scripts", "gui_scripts")):
            return True
    return False


def _wheel_name(dest: str) -> str:
    import glob

    infos = glob.glob("*.dist-info", root_dir=dest)
    return infos[0][: -len(".dist-info")].rsplit("-", 1)[0].replace("_", "-").lower() if infos else "NAME"


def _wheel_check(path: str, text: str) -> None:
    """For `envr add url:...whl`: refuse at once a wheel that could only work as a pypi entry."""
    import tempfile
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            has_scripts = any(".data/scripts/" in n and not n.endswith("/") for n in names)
            with tempfile.TemporaryDirectory(prefix="envr-whl-") as tmp:
                for n in names:
                    if n.count("/") == 1 and n.endswith(".dist-info/entry_points.txt"):
                        os.makedirs(os.path.join(tmp, n.split("/")[0]), exist_ok=True)
                        with open(os.path.join(tmp, n), "wb") as f:
                            f.write(z.read(n)[: 1 << 20])
                if not has_scripts and _entry_points(tmp):
                    raise EnvrError(f"{text!r}: {_WHEEL_HINT.format(name=_wheel_name(tmp))}")
    except zipfile.BadZipFile as e:
        raise EnvrError(f"{text!r}: not a wheel ({e})") from None


def name_from_url(url: str) -> str:
    """The package name a URL's file suggests: `ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz` -> ripgrep,
    `jq-linux-amd64` -> jq, `node-v22.1.0-linux-x64.tar.xz` -> node, `black-24.8.0-py3-none-any.whl` -> black."""
    import re
    from urllib.parse import unquote, urlsplit

    base = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or urlsplit(url).hostname or "download"
    lower = base.lower()
    suffix = next((s for s in (*archive.SUFFIXES, ".exe", ".gz", ".xz", ".bz2") if lower.endswith(s)), "")
    stem = base[: len(base) - len(suffix)] or base
    if suffix == ".whl":
        name = stem.split("-", 1)[0].replace("_", "-").lower()
    else:
        name = stem
        for m in re.finditer(r"[^-_.]+", stem):
            word = m.group(0)
            if re.match(r"^v?\d", word) or word.lower() in _PLATFORM_WORDS:
                name = stem[: m.start()].rstrip("-_.")
                break
        name = name or stem
    name = re.sub(r"[^A-Za-z0-9._+-]", "-", name).strip("-._+")
    return name or "download"


def fetch(
    spec: PackageSpec,
    progress: Callable[[int, int | None], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The verified download in the cache (fetched now if needed); raises before anything reaches the store."""
    from envr.store.sources import _fetch

    url, expected = for_platform(spec)
    return _fetch.verified(url, expected, os.environ if environ is None else environ, progress, f"packages.{spec.name}")


def fetch_new(url: str, environ: Mapping[str, str]) -> str:
    """Download url into the cache whatever its content; returns its sha256 (the cache's name for it)."""
    from envr import progress
    from envr.store.sources import _fetch

    cache = _fetch.cache_dir()
    os.makedirs(cache, exist_ok=True)
    part = os.path.join(cache, f"new.part-{os.getpid()}")
    name = name_from_url(url)

    def report(done: int, total: int | None) -> None:
        progress.transfer(name, done, total)

    try:
        try:
            sha = _fetch.download(url, part, environ, report)
        except _fetch.FetchError as e:
            raise FetchError(f"url:{url}: {e}") from None
        finally:
            progress.phase(name, None)
        os.replace(part, os.path.join(cache, sha))
    finally:
        if os.path.exists(part):
            os.unlink(part)
    return sha


SOURCE: Source = UrlSource()  # annotated: mypy checks the kind implements the whole interface
