"""Unpacking downloaded archives without letting any member land (or point) outside the output."""

from __future__ import annotations

import os
import posixpath
import stat

from envr.errors import EnvrError

FORMATS = ("tar.gz", "tar.xz", "tar.bz2", "zip", "file")
_SUFFIXES = {".tar.gz": "tar.gz", ".tgz": "tar.gz", ".tar.xz": "tar.xz", ".txz": "tar.xz", ".tar.bz2": "tar.bz2"}
_SUFFIXES |= {".tbz2": "tar.bz2", ".zip": "zip"}


class UnsafeArchiveError(EnvrError):
    pass


def format_for(url: str) -> str:
    """The archive format a URL's name implies; anything else is kept as a single file."""
    name = url.split("?", 1)[0].split("#", 1)[0].lower()
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    return "file"


def _check_name(name: str, what: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{what}: member {name!r} escapes the output; refusing to unpack")


def _check_link(member: str, target: str, what: str, relative_to_member: bool = True) -> None:
    base = posixpath.dirname(member) if relative_to_member else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(f"{what}: link {member!r} -> {target!r} escapes the output; refusing to unpack")


def unpack(archive: str, fmt: str, dest: str, what: str) -> None:
    """Unpack archive (of format fmt) into the existing directory dest. what names it in errors."""
    if fmt == "zip":
        _unpack_zip(archive, dest, what)
        return
    import tarfile

    if fmt not in ("tar.gz", "tar.xz", "tar.bz2"):
        raise EnvrError(f"{what}: unknown archive format {fmt!r}")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_name(m.name, what)
                if m.issym():
                    _check_link(m.name, m.linkname, what)
                elif m.islnk():
                    _check_name(m.linkname, what)
                    _check_link(m.name, m.linkname, what, relative_to_member=False)
                elif not (m.isfile() or m.isdir()):
                    raise UnsafeArchiveError(f"{what}: member {m.name!r} is a device or fifo; refusing to unpack")
            tar.extractall(dest, members=members, filter="tar")
    except (tarfile.TarError, EOFError, OSError) as e:
        if isinstance(e, tarfile.FilterError):
            raise UnsafeArchiveError(f"{what}: {e}; refusing to unpack") from None
        raise EnvrError(f"{what}: cannot unpack {fmt} archive: {e}") from None


def _unpack_zip(archive: str, dest: str, what: str) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            for info in infos:
                _check_name(info.filename, what)
            for info in infos:
                mode = info.external_attr >> 16
                target = os.path.join(dest, info.filename)
                if stat.S_ISLNK(mode):
                    link = z.read(info).decode("utf-8", "surrogateescape")
                    _check_link(info.filename.rstrip("/"), link, what)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.symlink(link, target)
                    continue
                z.extract(info, dest)
                if not info.is_dir() and mode & 0o111:
                    os.chmod(target, 0o755)
    except (zipfile.BadZipFile, OSError) as e:
        raise EnvrError(f"{what}: cannot unpack zip archive: {e}") from None
