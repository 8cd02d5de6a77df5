"""One OCI layer per store path: a deterministic tar of the path's tree, compressed, written in one pass.

The tar holds the store path at its absolute location (members `home/ci/.local/share/envr/store/<name>/...`),
so the same layer is a cache artifact, a bundle member and an image layer, and `tar -xzf LAYER -C /` puts the
path where it was built. Members come in tree_hash's order (names sorted at every level), with mtime 0,
uid/gid 0 and no user or group names; modes are the store's plus the owner's write bit (the store strips
write bits; whoever unpacks makes the path read-only again, which gives back the same modes). Regular
files, directories and symlinks only; hard links are written as files (tree_hash cannot tell them apart).

Compression: zstd (level 3, one frame, on every core: zstd's multi-threaded output does not depend on the
number of workers, so the same tree still gives the same bytes) for the cache, where push and pull speed is
what a user waits for; gzip (level 6, a fixed header) for images and bundles, which every
docker, podman, skopeo, umoci and plain `tar` reads. A reader accepts either, and plain tar.
While the tar is written, file contents and link targets are scanned for the path's own absolute name: a
tree that never mentions it is relocatable (as Nix scans outputs for store paths).
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from envr.errors import EnvrError

LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPES = {"zstd": LAYER_TAR + "+zstd", "gzip": LAYER_TAR + "+gzip", "none": LAYER_TAR}
CACHE_COMPRESSION = "zstd"
IMAGE_COMPRESSION = "gzip"
ZSTD_LEVEL = 3
GZIP_LEVEL = 6
_CHUNK = 1 << 20


class Codec(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


def _zstd_module() -> Any:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+

        return zstd
    except ImportError:
        import zstandard

        return zstandard


class _Zstd:
    def __init__(self, level: int) -> None:
        mod = _zstd_module()
        if hasattr(mod.ZstdCompressor, "compressobj"):  # the zstandard package
            self._c = mod.ZstdCompressor(level=level, threads=-1).compressobj()
        else:  # compression.zstd (single-threaded: its bytes differ from the multi-threaded ones, both valid)
            self._c = mod.ZstdCompressor(level=level)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._c.compress(data))

    def flush(self) -> bytes:
        return bytes(self._c.flush())


class _Gzip:
    """RFC 1952 with a fixed header (mtime 0, no name, OS unknown), so the bytes depend on the content only."""

    def __init__(self, level: int) -> None:
        self._c = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
        self._crc = 0
        self._size = 0
        self._header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

    def compress(self, data: bytes) -> bytes:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        out, self._header = self._header + self._c.compress(data), b""
        return out

    def flush(self) -> bytes:
        tail = self._c.flush() + struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF)
        out, self._header = self._header + tail, b""
        return out


class _Plain:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def codec(compression: str) -> Codec:
    if compression == "zstd":
        return _Zstd(ZSTD_LEVEL)
    if compression == "gzip":
        return _Gzip(GZIP_LEVEL)
    if compression == "none":
        return _Plain()
    raise ValueError(compression)


@dataclass(frozen=True)
class Layer:
    file: str  # the compressed blob on disk
    media_type: str
    digest: str  # sha256:<hex> of the compressed bytes (what registries address)
    size: int
    diff_id: str  # sha256:<hex> of the uncompressed tar (what an image config lists)
    mentions_self: bool  # the tree contains its own absolute store path
    absolute_link: str | None = None  # the first symlink to an absolute target, as "member -> target"


class _Sink:
    """What tarfile writes to: hashes the tar, compresses it, hashes and writes the result."""

    def __init__(self, out: IO[bytes], compression: str) -> None:
        self.out = out
        self.codec = codec(compression)
        self.tar_hash = hashlib.sha256()  # OpenSSL's: several times the builtin module's speed on big trees
        self.blob_hash = hashlib.sha256()
        self.size = 0
        self.offset = 0

    def _emit(self, data: bytes) -> None:
        if data:
            self.blob_hash.update(data)
            self.out.write(data)
            self.size += len(data)

    def write(self, data: bytes) -> int:
        self.tar_hash.update(data)
        self._emit(self.codec.compress(bytes(data)))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def close(self) -> None:
        self._emit(self.codec.flush())


class _Scanner:
    """A file reader that notices whether needle occurs in what passes through (across chunk borders)."""

    def __init__(self, f: IO[bytes], needle: bytes, found: list[bool]) -> None:
        self.f = f
        self.needle = needle
        self.found = found
        self.tail = b""

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        if data and not self.found[0]:
            window = self.tail + data
            if self.needle in window:
                self.found[0] = True
            self.tail = window[-(len(self.needle) - 1) :] if len(self.needle) > 1 else b""
        return data


def write_layer(store_path: str, out_file: str, compression: str) -> Layer:
    """Write store_path's tree as a layer to out_file (created, or replaced)."""
    needle = store_path.encode("utf-8", "surrogateescape")
    found = [False]
    absolute: list[str] = []
    with open(out_file, "wb") as out:
        sink = _Sink(out, compression)
        with tarfile.open(
            fileobj=sink,  # type: ignore[call-overload]  # write and tell are all "w" needs
            mode="w",
            format=tarfile.PAX_FORMAT,
            encoding="utf-8",
            errors="surrogateescape",
            copybufsize=_CHUNK,
        ) as tar:
            _add(tar, store_path, store_path.lstrip("/"), needle, found, absolute)
        sink.close()
    return Layer(
        out_file,
        MEDIA_TYPES[compression],
        "sha256:" + sink.blob_hash.hexdigest(),
        sink.size,
        "sha256:" + sink.tar_hash.hexdigest(),
        found[0],
        absolute[0] if absolute else None,
    )


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def _add(tar: tarfile.TarFile, path: str, name: str, needle: bytes, found: list[bool], absolute: list[str]) -> None:
    st = os.lstat(path)
    perm = stat.S_IMODE(st.st_mode) & 0o7777
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        if needle in target.encode("utf-8", "surrogateescape"):
            found[0] = True
        if target.startswith("/") and not absolute:
            absolute.append(f"{name.split('/', len(needle.split(b'/')) - 1)[-1]} -> {target}")
        ti = _info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        tar.addfile(ti)
    elif stat.S_ISDIR(st.st_mode):
        tar.addfile(_info(name, tarfile.DIRTYPE, (perm | 0o700) & 0o755))
        for entry in sorted(os.listdir(path)):
            _add(tar, os.path.join(path, entry), f"{name}/{entry}", needle, found, absolute)
    elif stat.S_ISREG(st.st_mode):
        ti = _info(name, tarfile.REGTYPE, (perm | 0o600) & 0o755)
        ti.size = st.st_size
        with open(path, "rb") as f:
            tar.addfile(ti, _Scanner(f, needle, found))
    else:
        raise EnvrError(f"{path}: not a regular file, directory or symlink; a store path cannot hold it")


def compression_of(media_type: str, where: str) -> str:
    for name, mt in MEDIA_TYPES.items():
        if media_type == mt or (name == "none" and media_type == "application/vnd.docker.image.rootfs.diff.tar"):
            return name
    if media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip":
        return "gzip"
    raise EnvrError(f"{where}: layer media type {media_type!r} is not a tar, tar+gzip or tar+zstd layer")


class Decompressor:
    """Streams a layer's compressed bytes into a plain tar, refusing to grow past limit bytes."""

    def __init__(self, compression: str, limit: int, where: str) -> None:
        self.where = where
        self.limit = limit
        self.written = 0
        self.compression = compression
        self._d: Any
        if compression == "zstd":
            mod = _zstd_module()
            if hasattr(mod.ZstdDecompressor, "decompressobj"):  # the zstandard package
                self._d = mod.ZstdDecompressor().decompressobj()
            else:  # compression.zstd
                self._d = mod.ZstdDecompressor()
        elif compression == "gzip":
            self._d = zlib.decompressobj(31)
        else:
            self._d = None

    def feed(self, data: bytes, write: Callable[[bytes], object]) -> None:
        try:
            out = data if self._d is None else self._d.decompress(data)
        except Exception as e:  # zlib.error, zstandard.ZstdError, compression.zstd.ZstdError
            raise EnvrError(f"{self.where}: the layer is not valid {self.compression} ({e})") from None
        self.written += len(out)
        if self.written > self.limit:
            raise EnvrError(f"{self.where}: the layer unpacks to more than {self.limit:,} bytes of tar; refusing it")
        if out:
            write(out)
