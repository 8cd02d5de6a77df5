"""Images from the outside: base image references, picking a platform, and writing OCI archives.

A base REF is `oci://HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]` (the registry API) or `oci-layout:DIR[:TAG]` (an
OCI layout directory, as `umoci` and `skopeo copy ... oci:DIR:TAG` make). An index is resolved to the
manifest for this machine's platform.

An OCI archive is a tar of an OCI layout (what `skopeo inspect oci-archive:FILE` and `podman load` read);
it also carries docker's `manifest.json`, so `docker load` reads it too, as `docker save` writes both.
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass, field
from typing import IO, Any

from envr.errors import EnvrError
from envr.store.cache.backend import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Backend,
    Manifest,
    parse_oci,
    read_small,
)
from envr.store.cache.layout import REF_NAME, Layout
from envr.store.cache.urls import open_backend

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
_DOCKER_LAYERS = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar": "application/vnd.oci.image.layer.v1.tar",
}
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm"}
ARCHES |= {"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "i686": "386"}


def architecture() -> str:
    machine = os.uname().machine
    return ARCHES.get(machine, machine)


@dataclass
class Image:
    """An image's parts: where its blobs are read from, its config, and its layers with their diff ids."""

    backend: Backend | None  # None: an image with no base
    config: dict[str, Any] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)  # descriptors, OCI media types
    diff_ids: list[str] = field(default_factory=list)
    repository: str | None = None  # for a registry base: blobs may be mounted from it
    host: str | None = None


def parse_ref(ref: str) -> tuple[Backend, str | None, str | None, str | None]:
    """(backend, tag or digest or None, registry host, repository) of a base image reference."""
    if ref.startswith("oci://"):
        host, repo, tag = parse_oci(ref)
        return open_backend(f"oci://{host}/{repo}"), tag or "latest", host, repo
    if ref.startswith("oci-layout:"):
        rest = ref[len("oci-layout:") :]
        directory, sep, tag = rest.rpartition(":")
        if not sep or "/" in tag or not directory:
            directory, tag = rest, ""
        return Layout(os.path.abspath(directory)), tag or None, None, None
    raise EnvrError(f"{ref}: a base image is oci://HOST/REPOSITORY[:TAG] or oci-layout:DIR[:TAG]")


def _only_manifest(layout: Layout, ref: str) -> str:
    entries = layout.index()["manifests"]
    if len(entries) != 1:
        names = sorted(str((m.get("annotations") or {}).get(REF_NAME, m.get("digest"))) for m in entries)
        raise EnvrError(f"{ref}: the layout holds {len(entries)} images ({', '.join(names[:5])}); add :TAG")
    return str(entries[0]["digest"])


def load_image(ref: str) -> Image:
    """The base image ref names, for this machine's platform."""
    backend, tag, host, repo = parse_ref(ref)
    if tag is None:
        assert isinstance(backend, Layout)
        tag = _only_manifest(backend, ref)
    manifest = backend.manifest(tag)
    if manifest is None:
        raise EnvrError(f"{ref}: no such image ({backend.url} has no {tag})")
    for _ in range(3):
        if manifest.media_type not in (OCI_INDEX, DOCKER_LIST):
            break
        manifest = _pick_platform(backend, manifest, ref)
    doc = _json(manifest.data, ref)
    if manifest.media_type not in (OCI_MANIFEST, DOCKER_MANIFEST) and doc.get("mediaType") not in (
        OCI_MANIFEST,
        DOCKER_MANIFEST,
    ):
        raise EnvrError(f"{ref}: manifest {manifest.digest} is {manifest.media_type or 'untyped'}, not an image")
    cfg = doc.get("config") or {}
    config = _json(read_small(backend, str(cfg.get("digest")), int(cfg.get("size", 0)), "config"), ref)
    layers = []
    for d in doc.get("layers") or []:
        media_type = _DOCKER_LAYERS.get(d.get("mediaType"), d.get("mediaType"))
        layers.append({"mediaType": media_type, "digest": d["digest"], "size": int(d["size"])})
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    if len(diff_ids) != len(layers):
        raise EnvrError(f"{ref}: {len(layers)} layers but {len(diff_ids)} diff_ids in its config")
    if config.get("architecture") not in (None, architecture()) or config.get("os") not in (None, "linux"):
        raise EnvrError(f"{ref}: a {config.get('os')}/{config.get('architecture')} image, not linux/{architecture()}")
    return Image(backend, config, layers, diff_ids, repo, host)


def _pick_platform(backend: Backend, index: Manifest, ref: str) -> Manifest:
    doc = _json(index.data, ref)
    for m in doc.get("manifests") or []:
        p = m.get("platform") or {}
        if p.get("os", "linux") == "linux" and p.get("architecture", architecture()) == architecture():
            found = backend.manifest(str(m["digest"]))
            if found is None:
                break
            return Manifest(found.data, m.get("mediaType") or found.media_type, found.digest)
    raise EnvrError(f"{ref}: no linux/{architecture()} image in its index")


def _json(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError:
        raise EnvrError(f"{where}: not JSON where a manifest or config was expected") from None
    if not isinstance(doc, dict):
        raise EnvrError(f"{where}: not a JSON object where a manifest or config was expected")
    return doc


class ArchiveWriter:
    """A deterministic tar (sorted names added by the caller, mtime 0, root-owned)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT, copybufsize=1 << 20)  # type: ignore[call-overload]  # noqa: SIM115
        self.seen: set[str] = set()

    def _info(self, name: str, size: int, mode: int = 0o644, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.type, ti.mtime = size, mode, kind, 0
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    def directory(self, name: str) -> None:
        if name not in self.seen:
            self.seen.add(name)
            self.tar.addfile(self._info(name, 0, 0o755, tarfile.DIRTYPE))

    def data(self, name: str, data: bytes, mode: int = 0o644) -> None:
        import io

        self.seen.add(name)
        self.tar.addfile(self._info(name, len(data), mode), io.BytesIO(data))

    def stream(self, name: str, size: int, f: IO[bytes]) -> None:
        self.seen.add(name)
        self.tar.addfile(self._info(name, size), f)

    def close(self) -> None:
        self.tar.close()


def blob_name(digest: str) -> str:
    return f"blobs/sha256/{digest[len('sha256:') :]}"
