"""OCI image layouts: a directory (file:///DIR, read and written) and the same served by a static server.

    DIR/oci-layout           {"imageLayoutVersion": "1.0.0"}
    DIR/index.json           an image index; each manifest's org.opencontainers.image.ref.name is its tag
    DIR/blobs/sha256/<hex>   every blob, manifests included

Blobs are written to a temp file beside their final name, checked against their digest, then renamed; the
index is rewritten atomically under a flock on the directory, so concurrent pushes to one layout each land.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from typing import IO, Any

from envr.fsutil import write_atomic
from envr.store.cache.backend import (
    MAX_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    check_digest,
    digest_of,
    read_small,
)
from envr.store.cache.transport import CacheError, Transport, drain_error

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_FILE = '{"imageLayoutVersion":"1.0.0"}'
_READ = 1 << 20


def empty_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


def _parse_index(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError:
        raise CacheError(f"{where}: index.json is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests", []), list):
        raise CacheError(f"{where}: index.json is not an OCI image index")
    doc.setdefault("manifests", [])
    return doc


def _find(index: dict[str, Any], ref: str) -> dict[str, Any] | None:
    entries = [m for m in index["manifests"] if isinstance(m, dict)]
    if ref.startswith("sha256:"):
        return next((m for m in entries if m.get("digest") == ref), {"digest": ref, "mediaType": OCI_MANIFEST})
    named = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) == ref]
    return named[-1] if named else None


class Layout:
    writable = True

    def __init__(self, root: str, create: bool = False, url: str | None = None) -> None:
        self.root = root
        self.url = url or f"file://{root}"
        if not os.path.isfile(os.path.join(root, "oci-layout")):
            if not create:
                raise CacheError(f"{self.url}: no OCI image layout there (no oci-layout file)")
            os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
            if not os.path.exists(os.path.join(root, "index.json")):
                write_atomic(os.path.join(root, "index.json"), json.dumps(empty_index()))
            write_atomic(os.path.join(root, "oci-layout"), LAYOUT_FILE)

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.root, "blobs", "sha256", check_digest(digest, self.url))

    def index(self) -> dict[str, Any]:
        try:
            with open(os.path.join(self.root, "index.json"), "rb") as f:
                return _parse_index(f.read(MAX_MANIFEST), self.url)
        except FileNotFoundError:
            return empty_index()

    def manifest(self, ref: str) -> Manifest | None:
        entry = _find(self.index(), ref)
        if entry is None or not self.has_blob(str(entry.get("digest", ""))):
            return None
        digest = str(entry["digest"])
        size = os.path.getsize(self.blob_path(digest))
        return Manifest(read_small(self, digest, size, "manifest"), str(entry.get("mediaType", OCI_MANIFEST)), digest)

    def has_blob(self, digest: str) -> bool:
        return os.path.isfile(self.blob_path(digest))

    def read_blob(self, digest: str, write: Callable[[bytes], object], progress: Callable[[int], None]) -> None:
        try:
            with open(self.blob_path(digest), "rb") as f:
                while chunk := f.read(_READ):
                    write(chunk)
                    progress(len(chunk))
        except FileNotFoundError:
            raise CacheError(f"{self.url}: no blob {digest}") from None

    def put_blob(self, digest: str, size: int, f: IO[bytes], progress: Callable[[int], None] | None) -> None:
        final = self.blob_path(digest)
        if os.path.isfile(final):
            return
        os.makedirs(os.path.dirname(final), exist_ok=True)
        tmp = f"{final}.{os.getpid()}.tmp"
        h = hashlib.sha256()
        try:
            with open(tmp, "wb") as out:
                left = size
                while left > 0 and (chunk := f.read(min(_READ, left))):
                    h.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
                    if progress is not None:
                        progress(len(chunk))
            if "sha256:" + h.hexdigest() != digest:
                raise CacheError(f"{self.url}: wrote blob {digest} but its bytes hash to sha256:{h.hexdigest()}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put_manifest(self, ref: str, manifest: Manifest) -> None:
        import io

        self.put_blob(manifest.digest, len(manifest.data), io.BytesIO(manifest.data), None)
        with self._locked():
            index = self.index()
            keep = [m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) != ref]
            entry = {"mediaType": manifest.media_type, "digest": manifest.digest, "size": len(manifest.data)}
            entry["annotations"] = {REF_NAME: ref}
            index["manifests"] = [*keep, entry]
            write_atomic(os.path.join(self.root, "index.json"), json.dumps(index, indent=1, sort_keys=True))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def tags(self) -> list[str]:
        names = [(m.get("annotations") or {}).get(REF_NAME) for m in self.index()["manifests"] if isinstance(m, dict)]
        return [n for n in names if isinstance(n, str)]

    def close(self) -> None:
        pass


class StaticLayout:
    """An OCI layout on a plain web server (https://, or http:// on loopback): read-only."""

    writable = False

    def __init__(self, url: str, transport: Transport) -> None:
        self.url = url
        self.transport = transport
        self._index: dict[str, Any] | None = None

    def index(self) -> dict[str, Any]:
        if self._index is None:
            url = f"{self.url}/index.json"
            resp = self.transport.request("GET", url)
            if resp.status != 200:
                raise CacheError(f"{url}: {drain_error(resp)} (expected an OCI layout's index.json)")
            self._index = _parse_index(resp.read(MAX_MANIFEST), url)
        return self._index

    def manifest(self, ref: str) -> Manifest | None:
        entry = _find(self.index(), ref)
        if entry is None:
            return None
        digest = str(entry.get("digest", ""))
        size = entry.get("size")
        if not isinstance(size, int):
            raise CacheError(f"{self.url}/index.json: the entry for {ref} has no size")
        data = read_small(self, digest, size, "manifest")
        return Manifest(data, str(entry.get("mediaType", OCI_MANIFEST)), digest_of(data))

    def has_blob(self, digest: str) -> bool:
        url = f"{self.url}/blobs/sha256/{check_digest(digest, self.url)}"
        resp = self.transport.request("HEAD", url)
        return resp.status == 200

    def read_blob(self, digest: str, write: Callable[[bytes], object], progress: Callable[[int], None]) -> None:
        url = f"{self.url}/blobs/sha256/{check_digest(digest, self.url)}"
        resp = self.transport.request("GET", url)
        if resp.status == 404:
            resp.read()
            raise CacheError(f"{url}: no blob {digest}")
        if resp.status != 200:
            raise CacheError(f"{url}: {drain_error(resp)} (expected blob {digest})")
        self.transport.stream(resp, url, digest, write, progress)

    def put_blob(self, digest: str, size: int, f: IO[bytes], progress: Callable[[int], None] | None) -> None:
        raise CacheError(f"{self.url}: a static https cache is read-only; push to oci:// or file:// instead")

    def put_manifest(self, ref: str, manifest: Manifest) -> None:
        raise CacheError(f"{self.url}: a static https cache is read-only; push to oci:// or file:// instead")

    def tags(self) -> list[str]:
        names = [(m.get("annotations") or {}).get(REF_NAME) for m in self.index()["manifests"] if isinstance(m, dict)]
        return [n for n in names if isinstance(n, str)]

    def close(self) -> None:
        self.transport.close()
