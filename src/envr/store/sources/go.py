"""go runtimes: Go's official toolchains, in the store.

    go = "go:1.23"                            # the newest stable 1.23.x; "go:1.23.2" exact
    go = { version-file = "go.mod" }          # its `toolchain goX` line, else its `go X` line; also
                                              # .tool-versions (`golang 1.23.2`) and .go-version

Where from: go.dev's download index, `https://go.dev/dl/?mode=json&include=all` (every release with, per file,
its os, arch, kind and sha256); the archives from `https://dl.google.com/go/FILE`. `ENVR_GO_MIRROR` names a
mirror serving both in that layout: `MIRROR/?mode=json&include=all` and `MIRROR/FILE`. The lock records, per
platform, the archive's URL and the sha256 the index gives, so nothing is downloaded to lock.

On PATH: go and gofmt. The toolchain finds its GOROOT from where it runs (the store path), and it runs with
whatever GOTOOLCHAIN you set: envr sets nothing.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.store.sources._downloads import fetch_index, parse_json
from envr.store.sources._runtime import Artifact, Release, RuntimeSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, ClassVar

    from envr.store.sources.base import Source

INDEX = "https://go.dev/dl"
FILES = "https://dl.google.com/go"
MIRROR = "ENVR_GO_MIRROR"
_GOOS_ARCH = {"linux-x64": ("linux", "amd64"), "linux-arm64": ("linux", "arm64"),
              "darwin-x64": ("darwin", "amd64"), "darwin-arm64": ("darwin", "arm64")}  # fmt: skip


def _roots(environ: Mapping[str, str]) -> tuple[str, str]:
    """(where the index is, where the files are)."""
    root = (environ.get(MIRROR) or "").rstrip("/")
    return (root, root) if root else (INDEX, FILES)


class GoSource(RuntimeSource):
    kind: ClassVar[str] = "go"
    cli_form: ClassVar[str | None] = "go:1.23"
    provides: ClassVar[str | None] = "go"
    tools: ClassVar[tuple[str, ...]] = ("golang", "go")
    version_files: ClassVar[tuple[str, ...]] = ("go.mod", ".go-version")
    series: ClassVar[int] = 2

    def mirror_vars(self) -> tuple[str, ...]:
        return (MIRROR,)

    def index_files(self, environ: Mapping[str, str]) -> list[str]:
        from envr.store.sources._downloads import cache_path

        return [cache_path(self._index_url(environ))]

    def _index_url(self, environ: Mapping[str, str]) -> str:
        return f"{_roots(environ)[0]}/?mode=json&include=all"

    def parse_version_file(self, name: str, text: str) -> str | None:
        from envr.store.sources._runtime import first_line

        if name != "go.mod":
            line = first_line(text)
            return line.removeprefix("go") if line else None
        go = toolchain = None
        for raw in text.splitlines():
            words = raw.split("//", 1)[0].split()
            if len(words) == 2 and words[0] == "go":
                go = words[1]
            elif len(words) == 2 and words[0] == "toolchain" and words[1].startswith("go"):
                toolchain = words[1][2:].split("-", 1)[0]
        return toolchain or go

    def releases(
        self, environ: Mapping[str, str], max_age: float | None, platforms: tuple[str, ...] = ()
    ) -> tuple[list[Release], str]:
        url = self._index_url(environ)
        data = parse_json(fetch_index(url, environ, max_age, "go"), url, "go")
        if not isinstance(data, list):
            raise EnvrError(f"go: {url} is not go.dev's download index (a list of releases)")
        out = []
        for item in data:
            if not isinstance(item, dict) or not item.get("stable") or not isinstance(item.get("version"), str):
                continue
            text = item["version"].removeprefix("go")
            parts = text.split(".")
            if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
                continue
            key = tuple(int(p) for p in parts) + (0,) * (3 - len(parts))
            files = item.get("files")
            out.append(Release(text, key, False, files if isinstance(files, list) else []))
        return out, url

    def artifact(self, release: Release, platform: str, environ: Mapping[str, str], max_age: float | None) -> Artifact:
        what = f"go {release.version}"
        goos_arch = _GOOS_ARCH.get(platform)
        if goos_arch is None:
            raise EnvrError(f"{what}: no build for platform {platform!r} (envr knows {', '.join(_GOOS_ARCH)})")
        for f in release.data:
            if not isinstance(f, dict) or (f.get("os"), f.get("arch"), f.get("kind")) != (*goos_arch, "archive"):
                continue
            name, sha = f.get("filename"), f.get("sha256")
            if not isinstance(name, str) or "/" in name or not name.endswith(".tar.gz"):
                continue
            if not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha.lower()):
                raise EnvrError(f"{what}: the index gives {str(sha)[:80]!r} as the sha256 of {name}")
            return Artifact(f"{_roots(environ)[1]}/{name}", f"sha256:{sha.lower()}", "tar.gz")
        raise EnvrError(f"{what}: the index lists no {goos_arch[0]}-{goos_arch[1]} archive")

    def relocate(self, url: str, environ: Mapping[str, str]) -> str:
        files = _roots(environ)[1]
        if files != FILES and url.startswith(FILES + "/"):
            return files + url[len(FILES) :]
        return url

    def finish(self, spec: Any, out: Path, version: str, url: str, environ: Mapping[str, str]) -> None:
        from envr.store.sources._downloads import run_version

        what = f"packages.{spec.name} (go {version} from {url})"
        exe = os.path.join(out, "go", "bin", "go")
        if not os.path.isfile(exe):
            raise EnvrError(f"{what}: the archive has no go/bin/go")
        env = {"PATH": os.defpath, "HOME": "/nonexistent", "GOTOOLCHAIN": "local", "GOFLAGS": "", "GO111MODULE": "off"}
        said = run_version([exe, "version"], str(out), env, what)
        if f" go{version} " not in f"{said} ":
            raise EnvrError(f"{what}: the archive's go says {said[:60]!r}, not go{version}; the index lies")

    def bins(self, spec: Any, out: Path) -> list[str]:
        return [f"go/bin/{n}" for n in ("go", "gofmt") if os.path.isfile(os.path.join(out, "go", "bin", n))]


SOURCE: Source = GoSource()  # annotated: mypy checks the kind implements the whole interface
