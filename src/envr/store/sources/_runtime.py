"""What the runtime kinds (node, python, go) share: platform words, version requests, version files, small
cached index downloads, and the Source members that are the same for all three.

A runtime entry asks for a version (`"node:22"`, `{ node = "22.11.0" }`, `"python:3.12"`, `"go:1.23"`, `lts`,
`latest`) or names a file that says it (`{ version-file = ".nvmrc" }`). Resolving it means reading the kind's
index (cached under the cache dir; a stale copy is used when the mirror cannot be reached) and picking the
newest release that matches. What a resolution records, per platform word, is the archive's URL and its
sha256 (or, for the npm registry's node packages, its sha512 integrity): enough to lock every platform a team
uses without downloading an archive.

The recipe is the fixed output (kind, version, archive digest, format), never the URL: a mirror serving the
same file gives the same store path, and two projects pinning the same runtime share it.
"""

from __future__ import annotations

import os
import sys

from envr.errors import EnvrError, ProjectFileError
from envr.store.sources._downloads import download
from envr.store.sources.base import CliSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import Dependency, PackageSpec, RealiseContext

PLATFORMS = ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64")
VERSION_FILE = "version-file"
_ARCH = {"x86_64": "x64", "amd64": "x64", "x64": "x64", "aarch64": "arm64", "arm64": "arm64"}
INDEX_MAX_AGE = 3600.0  # seconds a cached index is fresh enough for `envr lock`


def current_platform() -> str:
    """This machine's platform word: linux-x64, linux-arm64, darwin-x64, darwin-arm64 (else os-machine)."""
    machine = os.uname().machine.lower()
    system = "darwin" if sys.platform == "darwin" else "linux" if sys.platform.startswith("linux") else sys.platform
    return f"{system}-{_ARCH.get(machine, machine)}"


def platforms_of(spec: PackageSpec) -> tuple[str, ...]:
    """The platforms envr lock resolves this entry for: the project's `platforms` (default: this one)."""
    listed = tuple(getattr(spec, "platforms", ()) or ())
    return listed or (current_platform(),)


class Release:
    """One version a runtime's index lists."""

    __slots__ = ("data", "key", "lts", "version")

    def __init__(self, version: str, key: tuple[int, ...], lts: bool = False, data: Any = None) -> None:
        self.version = version
        self.key = key
        self.lts = lts
        self.data = data


class Artifact:
    """The archive of one release for one platform."""

    __slots__ = ("digest", "fmt", "url")

    def __init__(self, url: str, digest: str, fmt: str) -> None:
        self.url = url
        self.digest = digest  # "sha256:<hex>" or an npm integrity "sha512-<base64>"
        self.fmt = fmt

    def lock(self) -> dict[str, str]:
        if self.digest.startswith("sha256:"):
            return {"url": self.url, "sha256": self.digest[len("sha256:") :]}
        return {"url": self.url, "integrity": self.digest}


def numbers(text: str) -> tuple[int, ...] | None:
    """'22.11.0' -> (22, 11, 0); None unless it is 1 to 3 dot-separated numbers."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def parse_request(text: str, allow_lts: bool) -> tuple[str, tuple[int, ...]] | None:
    """A version request: ("latest", ()), ("lts", ()) or ("prefix", (22,)) / ("prefix", (22, 11, 0))."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("latest", "current", "node", "stable"):
        return ("latest", ())
    if allow_lts and (lowered == "lts" or lowered.startswith("lts/")):
        return ("lts", ())
    if lowered.startswith(("v", "go")):
        text = text[1:] if lowered.startswith("v") else text[2:]
    found = numbers(text)
    return ("prefix", found) if found is not None else None


def pick(what: str, request: str, releases: list[Release], allow_lts: bool, series: int, where: str) -> Release:
    """The newest release matching request; else one line naming the newest that exist (one per series)."""
    parsed = parse_request(request, allow_lts)
    if parsed is None:
        raise EnvrError(f"{what}: {request!r} is not a version (give e.g. 22, 22.11 or 22.11.0)")
    how, want = parsed
    ordered = sorted(releases, key=lambda r: r.key, reverse=True)
    for release in ordered:
        if how == "latest" or (how == "lts" and release.lts) or (how == "prefix" and release.key[: len(want)] == want):
            return release
    newest: list[str] = []
    seen: set[tuple[int, ...]] = set()
    for release in ordered:
        if release.key[:series] not in seen:
            seen.add(release.key[:series])
            newest.append(release.version)
        if len(newest) == 5:
            break
    listed = ", ".join(newest) if newest else "none at all"
    raise EnvrError(f"{what}: no version {request} at {where}; the newest are {listed}")


# --- version files -----------------------------------------------------------------------------------------


def read_version_file(spec: PackageSpec, tools: tuple[str, ...], reader: Callable[[str, str], str | None]) -> str:
    """The version the entry's version-file names (relative to the project): .tool-versions by tool name,
    anything else by the kind's reader(file name, text). Garbage is one line naming the file and line."""
    rel = str(spec.entry[VERSION_FILE])
    path = os.path.normpath(os.path.join(spec.project_root, rel))
    from envr.fsutil import read_regular

    try:
        text = read_regular(path, 1 << 20).decode("utf-8")
    except FileNotFoundError:
        raise spec.error(f"{VERSION_FILE} {rel!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise spec.error(f"{VERSION_FILE} {rel!r} cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if os.path.basename(rel) == ".tool-versions":
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if len(words) >= 2 and words[0] in tools:
                return _checked(path, number, words[1])
        raise ProjectFileError(path, f"no line for {' or '.join(tools)} (needed by packages.{spec.name})")
    found = reader(os.path.basename(rel), text)
    if found is None:
        raise ProjectFileError(path, f"names no version (needed by packages.{spec.name})")
    at: int | None = next((i for i, line in enumerate(text.splitlines(), 1) if found in line), None)
    return _checked(path, at, found)


def _checked(path: str, line: int | None, version: str) -> str:
    if parse_request(version, True) is None or len(version) > 40:
        raise ProjectFileError(path, f"{version[:40]!r} is not a version envr can resolve", line)
    return version


def first_line(text: str) -> str | None:
    """The first line that is not empty or a comment."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return line
    return None


# --- the Source members the runtime kinds share -------------------------------------------------------------


class RuntimeSource:
    """The shared half of node, python and go. A kind sets the class variables and implements releases(),
    artifact(), finish() and bins()."""

    kind: ClassVar[str] = ""
    shorthand: ClassVar[bool] = True
    resolves: ClassVar[bool] = True
    cli_form: ClassVar[str | None] = None
    provides: ClassVar[str | None] = None
    tools: ClassVar[tuple[str, ...]] = ()  # its names in .tool-versions
    version_files: ClassVar[tuple[str, ...]] = ()  # file names that imply this kind
    allow_lts: ClassVar[bool] = False
    series: ClassVar[int] = 2  # how many numbers make a release line, for "the newest are ..."

    # -- what a kind provides

    def releases(
        self, environ: Mapping[str, str], max_age: float | None, platforms: tuple[str, ...] = ()
    ) -> tuple[list[Release], str]:
        """Every release the index lists (platforms: those the lock is for, where that narrows the list)."""
        raise NotImplementedError

    def artifact(self, release: Release, platform: str, environ: Mapping[str, str], max_age: float | None) -> Artifact:
        raise NotImplementedError

    def finish(self, spec: PackageSpec, out: Path, version: str, url: str, environ: Mapping[str, str]) -> None:
        raise NotImplementedError

    def mirror_vars(self) -> tuple[str, ...]:
        return ()

    def relocate(self, url: str, environ: Mapping[str, str]) -> str:
        """url as this machine's mirror setting serves it (the lock keeps the URL the locker's mirror gave)."""
        return url

    def parse_version_file(self, name: str, text: str) -> str | None:
        return first_line(text)

    # -- shared members

    def needs(self, spec: PackageSpec) -> list[str]:
        return []

    def claims(self, name: str, entry: Mapping[str, Any]) -> bool:
        """A `{ version-file = ... }` table without a kind key is this kind's when the file says so."""
        rel = entry.get(VERSION_FILE)
        if not isinstance(rel, str) or self.kind in entry:
            return False
        base = os.path.basename(rel)
        return base in self.version_files or (base == ".tool-versions" and (name in self.tools or name == self.kind))

    def validate(self, spec: PackageSpec) -> None:
        allowed = {self.kind, VERSION_FILE}
        unknown = sorted(k for k in spec.entry if k not in allowed)
        if unknown:
            raise spec.error(
                f"unknown key {unknown[0]!r} for a {self.kind} runtime (allowed: {self.kind}, version-file)"
            )
        has_version = self.kind in spec.entry
        if has_version == (VERSION_FILE in spec.entry):
            raise spec.error(f'give the version ("{self.kind}:VERSION") or {VERSION_FILE} = "FILE", exactly one')
        if has_version:
            value = spec.entry[self.kind]
            if not isinstance(value, str) or parse_request(value, self.allow_lts) is None:
                lts = ", lts" if self.allow_lts else ""
                raise spec.error(f"{self.kind} version {value!r} is not one of N, N.N, N.N.N, latest{lts}")
        else:
            rel = spec.entry[VERSION_FILE]
            if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in rel.split("/"):
                raise spec.error(f"{VERSION_FILE} must be a file inside the project, like {self.version_files[0]!r}")

    def request(self, spec: PackageSpec) -> str:
        if self.kind in spec.entry:
            return str(spec.entry[self.kind])
        return read_version_file(spec, self.tools or (self.kind,), self.parse_version_file)

    def what(self, spec: PackageSpec) -> str:
        return f"packages.{spec.name} ({self.kind} {self.request(spec)})"

    def resolve(self, spec: PackageSpec, environ: Mapping[str, str], max_age: float | None) -> Release:
        releases, where = self.releases(environ, max_age, platforms_of(spec) if max_age is not None else ())
        return pick(self.what(spec), self.request(spec), releases, self.allow_lts, self.series, where)

    def _locked_platform(self, spec: PackageSpec, platform: str) -> Artifact:
        assert spec.locked is not None
        entry = spec.locked.get(platform)
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            have = sorted(k for k, v in spec.locked.items() if isinstance(v, dict))
            raise EnvrError(
                f"packages.{spec.name}: envr.lock has no {platform} build of {self.kind} "
                f"(it has {', '.join(have) or 'none'}); add {platform!r} to platforms in envr.toml and run envr lock"
            )
        digest = f"sha256:{entry['sha256']}" if "sha256" in entry else str(entry.get("integrity"))
        return Artifact(str(entry["url"]), digest, archive_format(str(entry["url"])))

    def _current(self, spec: PackageSpec, environ: Mapping[str, str]) -> tuple[str, Artifact]:
        """(version, artifact) for this machine: from the lock, else resolved from the (cached) index."""
        platform = current_platform()
        if spec.locked is not None:
            return str(spec.locked.get("version")), self._locked_platform(spec, platform)
        release = self.resolve(spec, environ, None)
        return release.version, self.artifact(release, platform, environ, None)

    def version(self, spec: PackageSpec) -> str:
        if spec.locked and spec.locked.get("version"):
            return str(spec.locked["version"])
        return self.resolve(spec, os.environ, None).version

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        version, art = self._current(spec, os.environ)
        return {"kind": self.kind, "version": version, "digest": art.digest, "format": art.fmt}

    def builds_in_place(self, spec: PackageSpec) -> bool:
        return False

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        from envr.store.sources import _archive

        environ = ctx.environ or os.environ
        version, art = self._current(spec, environ)
        art = Artifact(self.relocate(art.url, environ), art.digest, art.fmt)
        what = f"packages.{spec.name} ({self.kind} {version})"
        try:
            ctx.phase(spec.name, "downloading")
            archive = download(art, environ, what, ctx.progress)
            ctx.phase(spec.name, "unpacking")
            _archive.unpack(archive, art.fmt, str(out), f"{what} ({art.url})", environ)
            ctx.phase(spec.name, "checking")
            self.finish(spec, out, version, art.url, environ)
        finally:
            ctx.phase(spec.name, None)

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        """The exact version and, per platform, the archive's URL and digest: read from the index and its
        checksums, no archive downloaded."""
        release = self.resolve(spec, environ, INDEX_MAX_AGE)
        entry: dict[str, Any] = {"version": release.version, "request": self.request(spec)}
        for platform in platforms_of(spec):
            entry[platform] = self.artifact(release, platform, environ, INDEX_MAX_AGE).lock()
        return entry

    def depends_on(self, spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
        from envr.fsutil import tree_signature

        deps: list[Dependency] = []
        if VERSION_FILE in spec.entry:
            path = os.path.normpath(os.path.join(spec.project_root, str(spec.entry[VERSION_FILE])))
            try:
                deps.append(("tree", path, tree_signature(path)))
            except OSError:
                deps.append(("tree", path, ""))
        if spec.locked is None:  # the cached index and the mirror settings name the version
            deps.extend(("env", var, environ.get(var)) for var in self.mirror_vars())
            for path in self.index_files(environ):
                try:
                    deps.append(("tree", path, tree_signature(path)))
                except OSError:
                    deps.append(("tree", path, ""))
        return deps

    def index_files(self, environ: Mapping[str, str]) -> list[str]:
        return []

    def check_locked(self, spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
        try:
            request = self.request(spec)
        except EnvrError as e:
            return str(e)
        if locked.get("request") != request:
            return f"{self.kind} {request} is asked for, envr.lock resolved {locked.get('request')!r}"
        missing = [p for p in platforms_of(spec) if not isinstance(locked.get(p), dict)]
        if missing:
            return f"envr.lock has no {missing[0]} build of {self.kind}"
        return None

    def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
        if parse_request(rest, self.allow_lts) is None:
            raise EnvrError(f"{text!r}: give {self.kind}:VERSION, e.g. {self.cli_form}")
        return CliSpec(text, self.kind, self.kind, f"{self.kind}:{rest.strip()}")


def archive_format(url: str) -> str:
    from envr.store.sources._archive import format_for

    fmt = format_for(url)
    return "tar.gz" if fmt == "file" else fmt


def link(out: Path, name: str, target: str) -> str:
    """A relative link out/.envr-runtime/name -> target (relative to out); returns its path relative to out."""
    d = os.path.join(out, ".envr-runtime")
    os.makedirs(d, exist_ok=True)
    os.symlink(os.path.relpath(os.path.join(out, target), d), os.path.join(d, name))
    return f".envr-runtime/{name}"
