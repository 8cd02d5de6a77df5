"""Unpacking downloaded archives so that nothing lands, links or changes metadata outside the output.

envr's own extractor, for tar of every compression (plain, gzip, xz, bzip2: sniffed, whatever the name says)
and zip (wheels too), the same on every Python that `requires-python` admits (tarfile's extraction filters
only exist from 3.11.4, and zipfile.extract follows links):

- every member's path is walked one component at a time from a directory fd of the output, against what is
  on disk at that moment, never lexically: a component that is a symlink or not a directory refuses it;
- files are created with O_CREAT|O_EXCL|O_NOFOLLOW inside the directory fd resolved that way, so nothing is
  ever written through a link;
- a symlink is refused when its target, resolved from the link's own directory through the links already on
  disk, is absolute or steps above the output at any point (a chain `a0 -> .`, `a1 -> a0/..` stops at a1);
- a hard link must name an earlier regular member of the same archive that is still the file it wrote;
- devices, fifos and other special members are refused; ownership is never taken from the archive (what is
  written belongs to whoever runs envr), and modes lose setuid, setgid, sticky and group/world write;
- after unpacking, a final walk resolves every link in the output again and refuses any that leaves it.

Limits, so a small archive cannot fill the disk: ENVR_MAX_UNPACK_BYTES (default 4 GiB) of file content and
ENVR_MAX_UNPACK_MEMBERS (default 1,000,000) members. Every refusal is one line naming the package, its URL and
the member.
"""

from __future__ import annotations

import errno
import os
import stat

from envr.errors import EnvrError

TYPE_CHECKING = False  # format_for runs on the prompt's path (url recipes); tarfile/zipfile only when unpacking
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import IO, Any, NoReturn

FORMATS = ("tar", "tar.gz", "tar.xz", "tar.bz2", "zip", "whl", "file")
TARS = ("tar", "tar.gz", "tar.xz", "tar.bz2")  # one reader: the compression is sniffed from the content
SUFFIXES = {
    ".tar.gz": "tar.gz",
    ".tgz": "tar.gz",
    ".tar.xz": "tar.xz",
    ".txz": "tar.xz",
    ".tar.bz2": "tar.bz2",
    ".tbz2": "tar.bz2",
    ".tbz": "tar.bz2",
    ".tar": "tar",
    ".zip": "zip",
    ".whl": "whl",
}
MAX_BYTES = 4 << 30
MAX_MEMBERS = 1_000_000
_MAX_HOPS = 40  # symlinks followed while resolving one target, as the kernel allows
_CHUNK = 1 << 20
_MAX_LINK = 4096  # a zip symlink's target is its content: PATH_MAX at most
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class UnsafeArchiveError(EnvrError):
    pass


def format_for(url: str) -> str:
    """The archive format a URL's name implies; anything else is kept as a single file."""
    name = url.split("?", 1)[0].split("#", 1)[0].lower()
    for suffix, fmt in SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    return "file"


def limits(environ: Mapping[str, str]) -> tuple[int, int]:
    """(bytes, members) an archive may unpack to: ENVR_MAX_UNPACK_BYTES and ENVR_MAX_UNPACK_MEMBERS."""
    out = []
    for var, default, what in (
        ("ENVR_MAX_UNPACK_BYTES", MAX_BYTES, "bytes"),
        ("ENVR_MAX_UNPACK_MEMBERS", MAX_MEMBERS, "members"),
    ):
        raw = environ.get(var, "").strip().replace("_", "")
        if not raw:
            out.append(default)
            continue
        if not raw.isdigit() or int(raw) <= 0:
            raise EnvrError(f"{var} must be a positive whole number of {what} (default {default}), not {raw!r}")
        out.append(int(raw))
    return out[0], out[1]


def unpack(archive: str, fmt: str, dest: str, what: str, environ: Mapping[str, str] | None = None) -> None:
    """Unpack archive (of format fmt) into the existing, empty directory dest. what names it in errors."""
    max_bytes, max_members = limits(os.environ if environ is None else environ)
    if fmt not in TARS and fmt not in ("zip", "whl"):
        raise EnvrError(f"{what}: unknown archive format {fmt!r}")
    x = _Extractor(dest, what, max_bytes, max_members)
    try:
        if fmt in TARS:
            _unpack_tar(archive, fmt, x)
        else:
            _unpack_zip(archive, x)
        x.finish()
    finally:
        x.close()


def _unpack_tar(archive: str, fmt: str, x: _Extractor) -> None:
    import lzma
    import tarfile
    import zlib

    try:
        with tarfile.open(archive, "r:*") as tar:
            seen: list[Any] = tar.members  # type: ignore[attr-defined]
            while (m := tar.next()) is not None:
                seen.clear()  # streamed: a million members must not stay in memory
                x.count(m.name)
                if m.isdir():
                    x.member(m.name, x.add_dir, m.mode)
                elif m.isreg():
                    x.check_size(m.name, m.size)
                    src = tar.extractfile(m)
                    assert src is not None
                    x.member(m.name, x.add_file, m.mode, src)
                elif m.issym():
                    x.member(m.name, x.add_symlink, m.linkname)
                elif m.islnk():
                    x.member(m.name, x.add_hardlink, m.linkname)
                else:
                    x.refuse(m.name, "is a device, fifo or other special file")
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError) as e:
        raise EnvrError(f"{x.what}: cannot unpack {fmt} archive: {e}") from None


def _unpack_zip(archive: str, x: _Extractor) -> None:
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = info.filename
                x.count(name)
                mode = info.external_attr >> 16 if info.create_system == 3 else 0
                kind = stat.S_IFMT(mode)
                if info.is_dir() or kind == stat.S_IFDIR:
                    x.member(name, x.add_dir, mode or 0o755)
                elif kind == stat.S_IFLNK:
                    if info.file_size > _MAX_LINK:
                        x.refuse(name, "is a link with an over-long target")
                    target = z.read(info).decode("utf-8", "surrogateescape")
                    x.member(name, x.add_symlink, target)
                elif kind in (0, stat.S_IFREG):
                    x.check_size(name, info.file_size)
                    with z.open(info) as src:
                        x.member(name, x.add_file, mode or 0o644, src)
                else:
                    x.refuse(name, "is a device, fifo or other special file")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError, OSError) as e:
        raise EnvrError(f"{x.what}: cannot unpack zip archive: {e}") from None
    except RuntimeError as e:  # an encrypted member
        raise EnvrError(f"{x.what}: cannot unpack zip archive: {e}") from None


def _file_mode(mode: int) -> int:
    return (mode & 0o755) | 0o600  # no setuid/setgid/sticky, no group/world write; the owner can read it


def _dir_mode(mode: int) -> int:
    return (mode & 0o755) | 0o700


class _Extractor:
    """Writes members under one output directory, resolving every path itself (see the module docstring)."""

    def __init__(self, dest: str, what: str, max_bytes: int, max_members: int) -> None:
        self.dest = dest
        self.what = what
        self.max_bytes = max_bytes
        self.max_members = max_members
        self.bytes = 0
        self.members = 0
        self.root = os.open(dest, _DIR_FLAGS)
        self.fds: dict[tuple[str, ...], int] = {}  # directory fds resolved so far (a bounded cache)
        self.regular: dict[tuple[str, ...], tuple[int, int]] = {}  # files written: path -> (st_dev, st_ino)
        self.dir_modes: dict[tuple[str, ...], int] = {}  # applied at the end, so a 0500 dir can still be filled

    # --- refusals and limits ---

    def refuse(self, name: str, why: str) -> NoReturn:
        raise UnsafeArchiveError(f"{self.what}: member {name!r} {why}; refusing to unpack")

    def count(self, name: str) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise UnsafeArchiveError(
                f"{self.what}: more than {self.max_members:,} members (at {name!r}); the limit is "
                f"ENVR_MAX_UNPACK_MEMBERS={self.max_members}, raise it to unpack this archive"
            )

    def check_size(self, name: str, size: int) -> None:
        if self.bytes + max(size, 0) > self.max_bytes:
            raise UnsafeArchiveError(
                f"{self.what}: unpacks to more than {self.max_bytes:,} bytes (at {name!r}); the limit is "
                f"ENVR_MAX_UNPACK_BYTES={self.max_bytes}, raise it to unpack this archive"
            )

    def member(self, name: str, add: Callable[..., None], *args: object) -> None:
        """Run add(name, *args), turning an OS error into one line naming the member."""
        if len(self.fds) >= 256:  # between members only: an fd in use by the member is never closed
            self._close_fds()
        try:
            add(name, *args)
        except ValueError:  # a NUL in a name or target
            self.refuse(name, "has a NUL byte in its name or target")
        except OSError as e:
            raise EnvrError(f"{self.what}: cannot unpack member {name!r}: {e.strerror or e}") from None

    # --- paths, resolved on disk ---

    def parts(self, name: str) -> tuple[str, ...]:
        if "\0" in name:
            self.refuse(name, "has a NUL byte in its name")
        spelled = name.replace("\\", "/")
        drive = len(name) > 1 and name[1] == ":" and name[0].isalpha()
        if name.startswith("/") or drive or ".." in spelled.split("/"):
            self.refuse(name, "escapes the output (an absolute path or '..')")
        return tuple(p for p in name.split("/") if p not in ("", "."))

    def dir_fd(self, parts: tuple[str, ...], name: str) -> int:
        """An fd of the directory at parts, made if missing; refuses a path through a symlink or a file."""
        if not parts:
            return self.root
        cached = self.fds.get(parts)
        if cached is not None:
            return cached
        parent = self.dir_fd(parts[:-1], name)
        leaf = parts[-1]
        try:
            fd = os.open(leaf, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            os.mkdir(leaf, 0o755, dir_fd=parent)
            fd = os.open(leaf, _DIR_FLAGS, dir_fd=parent)
        except OSError as e:
            if e.errno in (errno.ENOTDIR, errno.ELOOP):
                self.refuse(name, f"goes through {'/'.join(parts)!r}, which is a symlink or not a directory")
            raise
        self.fds[parts] = fd
        return fd

    def _close_fds(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    def close(self) -> None:
        self._close_fds()
        os.close(self.root)

    def _clear(self, parent: int, parts: tuple[str, ...], name: str) -> None:
        """Make room for a new entry at parts: a file or link there goes (tar's last member wins); a directory
        there refuses the member."""
        try:
            st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            self.refuse(name, "would replace a directory")
        os.unlink(parts[-1], dir_fd=parent)
        self.regular.pop(parts, None)

    def escapes(self, start: tuple[str, ...], target: str) -> bool:
        """Whether target, resolved from directory start through what is on disk, is absolute or goes above the
        output at any step. Missing components are taken as written (the final walk sees what came later)."""
        if target.startswith("/"):
            return True
        stack = list(start)
        todo = list(reversed(target.split("/")))
        hops = 0
        while todo:
            c = todo.pop()
            if c in ("", "."):
                continue
            if c == "..":
                if not stack:
                    return True
                stack.pop()
                continue
            rel = "/".join([*stack, c])
            try:
                st: os.stat_result | None = os.stat(rel, dir_fd=self.root, follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None and stat.S_ISLNK(st.st_mode):
                hops += 1
                link = os.readlink(rel, dir_fd=self.root)
                if hops > _MAX_HOPS or link.startswith("/"):
                    return True
                todo.extend(reversed(link.split("/")))
                continue
            stack.append(c)
        return False

    # --- members ---

    def add_dir(self, name: str, mode: int) -> None:
        parts = self.parts(name)
        if parts:
            self.dir_fd(parts, name)
            self.dir_modes[parts] = _dir_mode(mode)

    def add_file(self, name: str, mode: int, src: IO[bytes]) -> None:
        parts = self.parts(name)
        if not parts:
            self.refuse(name, "is a file without a name")
        parent = self.dir_fd(parts[:-1], name)
        self._clear(parent, parts, name)
        fd = os.open(parts[-1], _FILE_FLAGS, 0o600, dir_fd=parent)
        try:
            while chunk := src.read(_CHUNK):
                self.bytes += len(chunk)
                self.check_size(name, 0)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fchmod(fd, _file_mode(mode))
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self.regular[parts] = (st.st_dev, st.st_ino)

    def add_symlink(self, name: str, target: str) -> None:
        parts = self.parts(name)
        if not parts or not target:
            self.refuse(name, "is a link without a name or a target")
        parent = self.dir_fd(parts[:-1], name)
        if self.escapes(parts[:-1], target):
            self.refuse(name, f"is a link to {target!r}, which escapes the output")
        self._clear(parent, parts, name)
        os.symlink(target, parts[-1], dir_fd=parent)

    def add_hardlink(self, name: str, target: str) -> None:
        parts = self.parts(name)
        if not parts:
            self.refuse(name, "is a hard link without a name")
        if target.startswith("/") or ".." in target.replace("\\", "/").split("/"):
            self.refuse(name, f"is a hard link to {target!r}, which escapes the output")
        source = tuple(p for p in target.split("/") if p not in ("", "."))
        recorded = self.regular.get(source)
        if recorded is None or source == parts:
            self.refuse(name, f"is a hard link to {target!r}, which is not an earlier regular member")
        src_dir = self.dir_fd(source[:-1], name)
        st = os.stat(source[-1], dir_fd=src_dir, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != recorded:
            self.refuse(name, f"is a hard link to {target!r}, which is no longer the regular file written")
        parent = self.dir_fd(parts[:-1], name)
        self._clear(parent, parts, name)
        os.link(source[-1], parts[-1], src_dir_fd=src_dir, dst_dir_fd=parent, follow_symlinks=False)
        self.regular[parts] = recorded  # never chmod'd: it shares the earlier member's inode and mode

    def finish(self) -> None:
        """Directory modes, then the final walk: no link in the output may resolve outside it."""
        for parts, mode in self.dir_modes.items():
            if len(self.fds) >= 256:
                self._close_fds()
            os.fchmod(self.dir_fd(parts, "/".join(parts)), mode)
        for dirpath, dirnames, filenames in os.walk(self.dest):
            rel = os.path.relpath(dirpath, self.dest)
            start = () if rel == "." else tuple(rel.split(os.sep))
            for entry in (*dirnames, *filenames):
                full = os.path.join(dirpath, entry)
                if os.path.islink(full) and self.escapes(start, target := os.readlink(full)):
                    self.refuse("/".join((*start, entry)), f"is a link to {target!r}, which escapes the output")
