"""python runtimes: relocatable CPython builds (python-build-standalone), found the way uv finds them.

    python = "python:3.12"                    # the newest 3.12.x; "python:3.12.7" exact
    python = { version-file = ".python-version" }   # also .tool-versions (`python 3.12.7`)

Which builds exist, and where: by default the list uv itself carries (`uv python list --all-platforms
--only-downloads`, no network), with `UV_PYTHON_INSTALL_MIRROR` replacing the GitHub release root as uv does;
the sha256 of each build is its release's published `SHA256SUMS` (one small file per release, beside the
archives). A mirror that hosts its own builds lists them in a downloads file in uv's `download-metadata.json`
format (`{"cpython-3.12.7-linux-x86_64-gnu": {"name": "cpython", "os": "linux", "arch": {"family":
"x86_64"}, "libc": "gnu", "major": 3, "minor": 12, "patch": 7, "url": "...", "sha256": "..."}, ...}`), named by
`UV_PYTHON_DOWNLOADS_JSON_URL` (a URL or an absolute path; uv's own setting, so uv and envr see the same
builds): then that list alone counts, with its sha256 (or its release's SHA256SUMS where it gives none).

The archive is an `install_only` build: `python/bin/python3` and its standard library beside it, runnable from
any directory. On PATH: python, python3 and python3.X. PyPI tools in the same project are built on it (their
venv's interpreter is this store path, a reference gc follows; see pypi.py), and so is `[python] venv`.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.store.sources._downloads import fetch_index, parse_json, parse_sums
from envr.store.sources._runtime import Artifact, Release, RuntimeSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import Source

MIRROR = "UV_PYTHON_INSTALL_MIRROR"
DOWNLOADS = "UV_PYTHON_DOWNLOADS_JSON_URL"
DEFAULT_ROOTS = (
    "https://github.com/astral-sh/python-build-standalone/releases/download",
    "https://github.com/indygreg/python-build-standalone/releases/download",
    "https://releases.astral.sh/github/python-build-standalone/releases/download",
)
# platform word -> (os names, arch, libc) as uv spells them
_TRIPLES = {
    "linux-x64": (("linux",), "x86_64", "gnu"),
    "linux-arm64": (("linux",), "aarch64", "gnu"),
    "darwin-x64": (("darwin", "macos"), "x86_64", "none"),
    "darwin-arm64": (("darwin", "macos"), "aarch64", "none"),
}


def _platform_of(item: Mapping[str, Any]) -> str | None:
    arch = item.get("arch")
    family = arch.get("family") if isinstance(arch, dict) else arch
    variant = arch.get("variant") if isinstance(arch, dict) else None
    if variant or item.get("variant") not in (None, "", "default"):
        return None
    libc = item.get("libc") or "none"
    for word, (systems, want_arch, want_libc) in _TRIPLES.items():
        if item.get("os") in systems and family == want_arch and libc == want_libc:
            return word
    return None


class PythonSource(RuntimeSource):
    kind: ClassVar[str] = "python"
    cli_form: ClassVar[str | None] = "python:3.12"
    provides: ClassVar[str | None] = "python"
    tools: ClassVar[tuple[str, ...]] = ("python",)
    version_files: ClassVar[tuple[str, ...]] = (".python-version",)
    series: ClassVar[int] = 2

    def mirror_vars(self) -> tuple[str, ...]:
        return (MIRROR, DOWNLOADS)

    def index_files(self, environ: Mapping[str, str]) -> list[str]:
        from envr.store.sources._downloads import cache_path

        listed = environ.get(DOWNLOADS)
        return [cache_path(listed if listed else _uv_list_key(environ))]

    def parse_version_file(self, name: str, text: str) -> str | None:
        from envr.store.sources._runtime import first_line

        line = first_line(text)
        return line.removeprefix("cpython-").removeprefix("python") if line else None

    def releases(
        self, environ: Mapping[str, str], max_age: float | None, platforms: tuple[str, ...] = ()
    ) -> tuple[list[Release], str]:
        listed = environ.get(DOWNLOADS)
        if listed:
            data = parse_json(fetch_index(listed, environ, max_age, "python"), listed, "python")
            items = list(data.values()) if isinstance(data, dict) else None
            where = listed
        else:
            items, where = _uv_list(environ), "uv's list of python-build-standalone builds"
        if not isinstance(items, list):
            raise EnvrError(f"python: {where} is not a list of Python downloads (uv's download-metadata.json form)")
        by_version: dict[str, Release] = {}
        for item in items:
            if not isinstance(item, dict) or item.get("name", item.get("implementation")) != "cpython":
                continue
            if item.get("prerelease") or not isinstance(item.get("url"), str):
                continue
            version = _version_of(item)
            platform = _platform_of(item)
            if version is None or platform is None:
                continue
            key = tuple(int(p) for p in version.split("."))
            release = by_version.setdefault(version, Release(version, key, False, {}))
            sha = item.get("sha256")
            release.data.setdefault(platform, (item["url"], sha if isinstance(sha, str) else None))
        return list(by_version.values()), where

    def artifact(self, release: Release, platform: str, environ: Mapping[str, str], max_age: float | None) -> Artifact:
        from urllib.parse import unquote

        from envr.store.sources._runtime import archive_format

        what = f"python {release.version}"
        found = release.data.get(platform)
        if found is None:
            have = ", ".join(sorted(release.data)) or "none"
            raise EnvrError(f"{what}: no {platform} build is listed (builds for: {have})")
        url, sha = found
        if sha is None:
            sums_url = url.rsplit("/", 1)[0] + "/SHA256SUMS"
            sums = parse_sums(fetch_index(sums_url, environ, max_age, what), sums_url, what)
            name = unquote(url.rsplit("/", 1)[1])
            sha = sums.get(name)
            if sha is None:
                raise EnvrError(f"{what}: {sums_url} lists no {name}")
        if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha.lower()):
            raise EnvrError(f"{what}: the index gives {sha[:80]!r} as the sha256 of {url}")
        return Artifact(url, f"sha256:{sha.lower()}", archive_format(url))

    def relocate(self, url: str, environ: Mapping[str, str]) -> str:
        root = (environ.get(MIRROR) or "").rstrip("/")
        if root:
            for default in DEFAULT_ROOTS:
                if url.startswith(default + "/"):
                    return root + url[len(default) :]
        return url

    def finish(self, spec: Any, out: Path, version: str, url: str, environ: Mapping[str, str]) -> None:
        from envr.store.sources._downloads import run_version
        from envr.store.sources._runtime import link

        what = f"packages.{spec.name} (python {version} from {url})"
        exe = os.path.join(out, "python", "bin", "python3")
        if not os.path.isfile(exe):
            raise EnvrError(f"{what}: the archive has no python/bin/python3 (not an install_only build)")
        code = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
        said = run_version([exe, "-I", "-c", code], str(out), {"PATH": os.defpath}, what)
        if said.split(".")[:2] != version.split(".")[:2]:
            raise EnvrError(f"{what}: the archive's python says {said[:40]!r}, not {version}; the index lies")
        if not os.path.lexists(os.path.join(out, "python", "bin", "python")):
            link(out, "python", "python/bin/python3")

    def bins(self, spec: Any, out: Path) -> list[str]:
        bindir = os.path.join(out, "python", "bin")
        try:
            names = os.listdir(bindir)
        except OSError:
            return []
        chosen = sorted(n for n in names if n in ("python", "python3") or _minor_exe(n))
        found = [f"python/bin/{n}" for n in chosen]
        if "python" not in chosen and os.path.lexists(os.path.join(out, ".envr-runtime", "python")):
            found.append(".envr-runtime/python")
        return found

    def interpreter(self, store_path: str) -> str:
        """The interpreter of a realised python runtime (what uv gets as --python)."""
        return os.path.join(store_path, "python", "bin", "python3")


def _minor_exe(name: str) -> bool:
    rest = name.removeprefix("python3.")
    return rest != name and rest.isdigit()


def _version_of(item: Mapping[str, Any]) -> str | None:
    parts = item.get("version_parts")
    if isinstance(parts, dict):
        item = parts
    try:
        numbers = [int(item["major"]), int(item["minor"]), int(item["patch"])]
    except (KeyError, TypeError, ValueError):
        return None
    return ".".join(str(n) for n in numbers)


def _uv_list_key(environ: Mapping[str, str]) -> str:
    from envr.store.sources.pypi import uv_bin

    uv = uv_bin()
    try:
        st = os.stat(uv)
        ident = f"{st.st_size} {st.st_mtime_ns}"
    except OSError:
        ident = ""
    return f"uv-python-list\0{uv}\0{ident}\0{environ.get(MIRROR, '')}"


def _uv_list(environ: Mapping[str, str]) -> list[Any]:
    """uv's own list of downloadable builds for every platform (no network), cached per uv binary and mirror."""
    from envr.fsutil import read_regular, write_atomic
    from envr.store.sources import _tools
    from envr.store.sources._downloads import cache_path
    from envr.store.sources.base import run_logged
    from envr.store.sources.pypi import uv_bin

    cached = cache_path(_uv_list_key(environ))
    try:
        data = parse_json(read_regular(cached, 64 << 20), cached, "python")
        if isinstance(data, list):
            return data
    except OSError:
        pass
    argv = [uv_bin(), "python", "list", "--all-versions", "--all-platforms", "--all-arches", "--only-downloads"]
    argv += ["--output-format", "json", "--no-config", "--color", "never"]
    env = _tools.uv_env({k: v for k, v in environ.items() if k != DOWNLOADS})
    import tempfile

    with tempfile.TemporaryDirectory(prefix="envr-uv-list-") as cwd:
        code, output = run_logged(argv, cwd, env, None, None, None, stdout_apart=True)
    if code != 0:
        raise EnvrError(f"python: `uv python list` failed (exit {code}): {output.strip()[-200:]}")
    data = parse_json(output.encode(), "uv python list", "python")
    if not isinstance(data, list):
        raise EnvrError("python: `uv python list` printed no list")
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    write_atomic(cached, output)
    return data


SOURCE: Source = PythonSource()  # annotated: mypy checks the kind implements the whole interface
