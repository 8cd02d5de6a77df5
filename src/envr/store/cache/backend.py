"""Where OCI content lives, behind one small interface: a registry, a local image layout, a static server.

    oci://HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]   the OCI distribution API (distribution.Registry)
    file:///DIR                                  an OCI image layout directory, read and written (layout.Layout)
    https://HOST/PATH                            such a directory on any static server, read-only
                                                 (http:// for loopback hosts only)

urls.open_backend picks the implementation a URL names. Everything is addressed by digest except manifests,
which may also be named by a tag (a registry tag, or a layout's org.opencontainers.image.ref.name). Reads
are verified against the digest (and size) that named them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Protocol

from envr.fsutil import sha256
from envr.store.cache.transport import CacheError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
MAX_MANIFEST = 4 << 20


class Manifest:
    __slots__ = ("data", "digest", "media_type")

    def __init__(self, data: bytes, media_type: str, digest: str | None = None) -> None:
        self.data = data
        self.media_type = media_type
        self.digest = digest or digest_of(data)


def digest_of(data: bytes) -> str:
    return "sha256:" + sha256(data).hexdigest()


def check_digest(digest: str, where: str) -> str:
    hexpart = digest[7:]
    if not digest.startswith("sha256:") or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        raise CacheError(f"{where}: {digest!r} is not a sha256 digest")
    return hexpart


class Backend(Protocol):
    url: str
    writable: bool

    def manifest(self, ref: str) -> Manifest | None:
        """The manifest a tag or digest names, or None if there is none."""

    def has_blob(self, digest: str) -> bool: ...

    def read_blob(self, digest: str, write: Callable[[bytes], object], progress: Callable[[int], None]) -> None:
        """Stream the blob's bytes to write (unverified: read_verified checks them)."""

    def put_blob(self, digest: str, size: int, f: IO[bytes], progress: Callable[[int], None] | None) -> None: ...

    def put_manifest(self, ref: str, manifest: Manifest) -> None: ...

    def tags(self) -> list[str]: ...

    def close(self) -> None: ...


def read_verified(
    backend: Backend,
    digest: str,
    size: int | None,
    write: Callable[[bytes], object],
    progress: Callable[[int], None] = lambda _: None,
    what: str = "blob",
) -> None:
    """Stream a blob, failing with one line if its bytes do not have the digest and size that named them."""
    import hashlib

    h = hashlib.sha256()  # OpenSSL's, for speed: blobs are big and this is not the prompt's path
    got = [0]

    def through(data: bytes) -> None:
        h.update(data)
        got[0] += len(data)
        if size is not None and got[0] > size:
            raise CacheError(f"{backend.url}: {what} {digest} is longer than the {size} bytes expected")
        write(data)

    backend.read_blob(digest, through, progress)
    if size is not None and got[0] != size:
        raise CacheError(f"{backend.url}: {what} {digest} is truncated: {got[0]} of {size} bytes")
    actual = "sha256:" + h.hexdigest()
    if actual != digest:
        raise CacheError(f"{backend.url}: {what} {digest} has digest {actual}: tampered with or damaged")


def read_small(backend: Backend, digest: str, size: int, what: str) -> bytes:
    if size > MAX_MANIFEST:
        raise CacheError(f"{backend.url}: {what} {digest} is {size} bytes, more than a {what} may be")
    parts: list[bytes] = []
    read_verified(backend, digest, size, parts.append, what=what)
    return b"".join(parts)


def split_reference(rest: str) -> tuple[str, str | None]:
    """REPOSITORY[:TAG|@DIGEST] -> (repository, tag or digest or None)."""
    if "@" in rest:
        repo, _, ref = rest.partition("@")
        return repo, ref
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = rest.rpartition(":")
        return repo, tag
    return rest, None


def parse_oci(url: str) -> tuple[str, str, str | None]:
    """oci://HOST[:PORT]/REPOSITORY[:TAG|@DIGEST] -> (host[:port], repository, reference)."""
    if not url.startswith("oci://"):
        raise CacheError(f"{url}: not an oci://HOST/REPOSITORY reference")
    host, _, rest = url[len("oci://") :].partition("/")
    repo, ref = split_reference(rest.strip("/"))
    if not host or not repo or repo != repo.lower() or any(p == "" for p in repo.split("/")):
        raise CacheError(f"{url}: expected oci://HOST[:PORT]/REPOSITORY (lower case) with an optional :TAG")
    return host, repo, ref
