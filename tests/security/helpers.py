"""Shared helpers for the security regression tests: an isolated envr world, running the installed console
script (optionally as another uid), hand-built archives, loopback servers, and the invariants the tests check.

Nothing here imports envr: everything goes through the `envr` console script of the venv, as a user would.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envr_testing import isolated_env

ENVR = str(Path(sys.executable).parent / "envr")
SETPRIV = shutil.which("setpriv")

# Unprivileged uids used by the permission tests (any unused numbers; setpriv needs no passwd entry).
VICTIM_UID = 4241
ATTACKER_UID = 4242
OTHER_UID = 4243

# Lines a command may print on stderr besides its one error line: progress of a sync, resolution notices.
_PROGRESS = re.compile(r"^envr: (realising|realised|resolving|synced|fetching|downloading|building|built|waiting)\b")


# --- running envr -------------------------------------------------------------------------------------------


def base_env(tmp: Path) -> dict[str, str]:
    """A clean environment: the caller's PATH and locale, HOME/XDG/ENVR_STORE/TMPDIR all under tmp."""
    env = isolated_env(tmp)
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("PWD", None)
    env.pop("OLDPWD", None)
    return env


def as_uid(uid: int) -> list[str]:
    """The argv prefix that runs a command as uid (and gid uid) without supplementary groups."""
    if SETPRIV is None:
        pytest.skip("setpriv is not installed: permission cases need another uid")
    return [*_reach_interpreter(), SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


@functools.cache
def _reach_interpreter() -> tuple[str, ...]:
    """A prefix that lets another uid run this venv's interpreter, when a parent directory forbids it.

    The venv's python often lives under a 0700 directory (pyenv in /root). Another uid then silently runs a
    different python (or none). Instead of widening that directory on the host, the command runs in a private
    mount namespace where each such directory is replaced by a traversable one holding bind mounts of just the
    entries needed. Returns () when nothing blocks the way; skips the test when it cannot be arranged.
    """
    needed = [os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix), os.path.realpath(ENVR)]
    blocked: dict[str, set[str]] = {}
    for target in needed:
        parts = Path(target).parts
        for i in range(1, len(parts) - 1):
            d = os.path.join(*parts[: i + 1])
            if not os.stat(d).st_mode & stat.S_IXOTH:
                blocked.setdefault(d, set()).add(parts[i + 1])
    if not blocked:
        return ()
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip(f"another uid cannot reach {sys.executable} (blocked by {sorted(blocked)})")
    overlay = Path(tempfile.gettempdir()) / f"envr-sectests-overlay-{os.getuid()}"
    lines = []
    for d in sorted(blocked, key=len, reverse=True):  # deepest first: a parent's overlay binds the child's
        over = overlay / d.lstrip("/")
        over.mkdir(parents=True, exist_ok=True)
        over.chmod(0o711)
        for child in sorted(blocked[d]):
            src = os.path.join(d, child)
            (over / child).mkdir(exist_ok=True) if os.path.isdir(src) else (over / child).touch()
            lines.append(f"mount --rbind {shlex.quote(src)} {shlex.quote(str(over / child))}")
        lines.append(f"mount --rbind {shlex.quote(str(over))} {shlex.quote(d)}")
    for p in [overlay, *overlay.rglob("*")]:
        if p.is_dir():
            p.chmod(0o711)
    script = " && ".join([*lines, 'exec "$@"'])
    prefix = ("unshare", "-m", "--propagation", "private", "--", "sh", "-c", script, "sh")
    probe = subprocess.run(
        [
            *prefix,
            SETPRIV or "setpriv",
            f"--reuid={OTHER_UID}",
            f"--regid={OTHER_UID}",
            "--clear-groups",
            "--",
            sys.executable,
            "-c",
            "import sys; print(sys.version)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0 or probe.stdout.strip() != sys.version:
        pytest.skip(f"another uid cannot run {sys.executable}: {probe.stderr.strip() or probe.stdout.strip()}")
    return prefix


@dataclass
class World:
    """One test's envr world: its tmp dir and the environment every envr run gets."""

    tmp: Path
    env: dict[str, str]
    uid: int | None = None  # run envr as this uid (via setpriv), or as the test's own user

    @property
    def home(self) -> Path:
        return Path(self.env["HOME"])

    @property
    def store(self) -> Path:
        return Path(self.env["ENVR_STORE"])

    @property
    def data(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"])

    @property
    def allow_dir(self) -> Path:
        return self.data / "envr" / "allow"

    def envr(
        self,
        *args: str,
        cwd: Path | str | None = None,
        timeout: float = 60,
        extra_env: Mapping[str, str] | None = None,
        uid: int | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed envr with this world's environment (PWD matching cwd)."""
        cwd = Path(cwd or self.tmp)
        env = {**self.env, **(extra_env or {}), "PWD": str(cwd)}
        who = uid if uid is not None else self.uid
        argv = [*(as_uid(who) if who is not None else []), ENVR, *args]
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout)

    def popen(
        self, *args: str, cwd: Path | str | None = None, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[str]:
        cwd = Path(cwd or self.tmp)
        env = {**self.env, **(extra_env or {}), "PWD": str(cwd)}
        argv = [*(as_uid(self.uid) if self.uid is not None else []), ENVR, *args]
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
        )

    def project(self, name: str, toml: str) -> Path:
        """Write tmp/name/envr.toml (parents made) and return the project directory."""
        root = self.tmp / name
        root.mkdir(parents=True, exist_ok=True)
        (root / "envr.toml").write_text(toml, encoding="utf-8")
        if self.uid is not None:
            chown_tree(root, self.uid)
        return root

    def allow(self, root: Path) -> None:
        r = self.envr("allow", str(root), cwd=root)
        assert r.returncode == 0, f"envr allow {root} failed: {r.stderr}"

    def export_json(self, cwd: Path, extra_env: Mapping[str, str] | None = None) -> tuple[dict[str, str | None], str]:
        """`envr export json` in cwd: (the changes it prints, its stderr); {} if it printed nothing."""
        import json

        r = self.envr("export", "json", cwd=cwd, extra_env=extra_env, timeout=30)
        assert_no_internal_error(r)
        return (json.loads(r.stdout) if r.stdout.strip() else {}), r.stderr


def make_world(tmp: Path, uid: int | None = None) -> World:
    if uid is not None:
        make_traversable(tmp)
    env = base_env(tmp)
    w = World(tmp, env, uid)
    if uid is not None:
        for key in ("HOME", "TMPDIR"):
            chown_tree(Path(env[key]), uid)
        os.chown(tmp, uid, uid)
    return w


# --- what an error must look like ---------------------------------------------------------------------------


def assert_no_internal_error(r: subprocess.CompletedProcess[str]) -> None:
    text = r.stdout + r.stderr
    assert "internal error" not in text.lower(), f"internal error: {r.stderr}"
    assert "Traceback" not in text, f"traceback: {r.stderr}"


def error_lines(stderr: str) -> list[str]:
    """stderr less empty lines and a sync's progress lines."""
    return [line for line in stderr.splitlines() if line.strip() and not _PROGRESS.match(line)]


def assert_one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A refusal: non-zero exit, exactly one error line on stderr, naming every needle, no internal error."""
    assert_no_internal_error(r)
    assert r.returncode != 0, f"expected a refusal, got exit 0; stdout={r.stdout!r} stderr={r.stderr!r}"
    lines = error_lines(r.stderr)
    assert len(lines) == 1, f"expected one error line, got {len(lines)}: {r.stderr!r}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not named in {lines[0]!r}"
    return lines[0]


def location_re(file: Path | str) -> re.Pattern[str]:
    """file:line:col as envr prints locations."""
    return re.compile(re.escape(str(file)) + r":\d+:\d+")


# --- the store ----------------------------------------------------------------------------------------------


def store_entries(store: Path) -> list[Path]:
    """The store paths (non-dot entries) of a store directory."""
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if not p.name.startswith("."))


def registered(world: World) -> list[str]:
    """What `envr store ls` lists (the registry's valid paths)."""
    r = world.envr("store", "ls")
    assert_no_internal_error(r)
    return [line.split("\t")[0] for line in r.stdout.splitlines() if line.strip()]


def escaping_links(root: Path) -> list[str]:
    """Symlinks under root (root included) whose target, resolved on disk, lies outside root."""
    bad = []
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                real = os.path.realpath(p)
                if real != real_root and not real.startswith(real_root + os.sep):
                    bad.append(f"{p} -> {os.readlink(p)} (resolves to {real})")
    if os.path.islink(root):
        bad.append(f"{root} is itself a symlink")
    return bad


def assert_store_contained(store: Path) -> None:
    """No symlink in any store path resolves outside that store path, and no hard link leads outside it."""
    problems: list[str] = []
    for sp in store_entries(store):
        problems += escaping_links(sp)
    assert problems == [], problems


# --- snapshots of what must not change ----------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under root: (type, mode, uid, gid, nlink, content hash or link target)."""
    out: dict[str, tuple[object, ...]] = {}
    if not os.path.lexists(root):
        return out
    paths = [str(root)]
    for dirpath, dirnames, filenames in os.walk(root):
        paths += [os.path.join(dirpath, n) for n in dirnames + filenames]
    for p in paths:
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            what: object = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(Path(p).read_bytes()).hexdigest()
        else:
            what = None
        out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink, what)
    return out


def diff_snapshots(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    changed = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            changed.append(f"{k}: {before.get(k)} -> {after.get(k)}")
    return changed


# --- archives -----------------------------------------------------------------------------------------------


@dataclass
class Member:
    """One archive member: kind is 'file', 'dir', 'symlink' or 'hardlink' (target: the link's target)."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int | None = None
    uid: int = 0
    gid: int = 0


def file(name: str, data: bytes = b"data\n", mode: int = 0o644, uid: int = 0, gid: int = 0) -> Member:
    return Member(name, "file", data, mode=mode, uid=uid, gid=gid)


def directory(name: str, mode: int = 0o755) -> Member:
    return Member(name, "dir", mode=mode)


def symlink(name: str, target: str) -> Member:
    return Member(name, "symlink", target=target)


def hardlink(name: str, target: str, mode: int | None = None, uid: int = 0, gid: int = 0) -> Member:
    return Member(name, "hardlink", target=target, mode=mode, uid=uid, gid=gid)


TOOL = file("bin/tool", b"#!/bin/sh\necho ok\n", 0o755)

# Archive kinds: (file suffix, tarfile mode or "zip", the unpack option envr.toml gives, if any).
TAR_KINDS: dict[str, tuple[str, str, str | None]] = {
    "tar.gz": (".tar.gz", "w:gz", None),
    "tgz": (".tgz", "w:gz", None),
    "tar.xz": (".tar.xz", "w:xz", None),
    "tar.bz2": (".tar.bz2", "w:bz2", None),
    # a plain (uncompressed) tar, given to envr with an explicit unpack option (it sniffs the compression)
    "plain-tar": (".tar", "w", "tar.gz"),
}
ALL_KINDS: dict[str, tuple[str, str, str | None]] = {**TAR_KINDS, "zip": (".zip", "zip", None)}


def tar_bytes(members: Sequence[Member], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for m in members:
            ti = tarfile.TarInfo(m.name)
            ti.uid, ti.gid = m.uid, m.gid
            ti.mtime = 1_700_000_000
            if m.kind == "file":
                ti.size = len(m.data)
                ti.mode = 0o644 if m.mode is None else m.mode
                t.addfile(ti, io.BytesIO(m.data))
                continue
            if m.kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755 if m.mode is None else m.mode
            elif m.kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = m.target
                ti.mode = 0o777
            elif m.kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = m.target
                ti.mode = 0o777 if m.mode is None else m.mode
            else:
                raise ValueError(m.kind)
            t.addfile(ti)
    return buf.getvalue()


def zip_bytes(members: Sequence[Member]) -> bytes:
    """A zip made on 'unix' (create_system 3), so modes and symlinks (S_IFLNK in external_attr) count."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for m in members:
            if m.kind == "hardlink":
                raise ValueError("zip has no hard links")
            name = m.name + "/" if m.kind == "dir" and not m.name.endswith("/") else m.name
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            zi.create_system = 3
            if m.kind == "file":
                zi.external_attr = (stat.S_IFREG | (0o644 if m.mode is None else m.mode)) << 16
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, m.data)
            elif m.kind == "dir":
                zi.external_attr = (stat.S_IFDIR | (0o755 if m.mode is None else m.mode)) << 16 | 0x10
                z.writestr(zi, b"")
            else:
                zi.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(zi, m.target.encode())
    return buf.getvalue()


def archive_bytes(kind: str, members: Sequence[Member]) -> bytes:
    _suffix, mode, _unpack = ALL_KINDS[kind]
    return zip_bytes(members) if mode == "zip" else tar_bytes(members, mode)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def url_package(name: str, url: str, data: bytes, unpack: str | None = None, **extra: str) -> str:
    """One [packages] line for a url entry."""
    fields = [f'url = "{url}"', f'sha256 = "{sha256_of(data)}"']
    if unpack:
        fields.append(f'unpack = "{unpack}"')
    for k, v in extra.items():
        fields.append(f"{k} = {v}")
    return f"{name} = {{ {', '.join(fields)} }}\n"


def archive_project(
    world: World,
    kind: str,
    members: Sequence[Member],
    name: str = "p",
    server: Server | None = None,
    env_section: str = "",
    bin_globs: str = '["bin/*"]',
) -> Path:
    """An allowed-to-be project with one url package `t` holding the archive (file:// or via server)."""
    suffix, _mode, unpack = ALL_KINDS[kind]
    data = archive_bytes(kind, members)
    fname = f"{name}-archive{suffix}"
    if server is not None:
        url = server.put(fname, data)
    else:
        path = world.tmp / "served" / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        url = path.as_uri()
    toml = env_section + "[packages]\n" + url_package("t", url, data, unpack, bin=bin_globs)
    return world.project(name, toml)


# --- loopback servers ---------------------------------------------------------------------------------------


@dataclass
class Server:
    """A loopback HTTP server serving files put into it."""

    root: Path
    url: str
    _httpd: ThreadingHTTPServer | None = field(default=None, repr=False)

    def put(self, name: str, data: bytes) -> str:
        (self.root / name).write_bytes(data)
        return f"{self.url}/{name}"


@contextlib.contextmanager
def file_server(root: Path) -> Iterator[Server]:
    root.mkdir(parents=True, exist_ok=True)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Silent:
    url: str
    connected: threading.Event


@contextlib.contextmanager
def silent_server() -> Iterator[Silent]:
    """A server that accepts every connection, holds it open and never sends a byte."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    s.settimeout(0.2)
    stop = threading.Event()
    connected = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except OSError:
                continue
            held.append(conn)
            connected.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Silent(f"http://127.0.0.1:{s.getsockname()[1]}", connected)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        s.close()


@contextlib.contextmanager
def trickle_server(headers_too: bool = False) -> Iterator[str]:
    """A server that answers 200 with a large Content-Length and then sends one byte per second, forever.

    With headers_too, even the status line and headers trickle, a byte a second."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\nContent-Type: application/octet-stream\r\n\r\n"
            try:
                if headers_too:
                    for b in head:
                        if stop.wait(1):
                            return
                        self.wfile.write(bytes([b]))
                        self.wfile.flush()
                else:
                    self.wfile.write(head)
                    self.wfile.flush()
                while not stop.wait(1):
                    self.wfile.write(b"x")
                    self.wfile.flush()
            except OSError:
                return

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()


# --- uids and modes -----------------------------------------------------------------------------------------


def make_traversable(path: Path) -> None:
    """Let other uids traverse every directory from / down to path (adds o+x, and o+r on path itself)."""
    p = Path(path).resolve()
    for d in [*reversed(p.parents), p]:
        mode = stat.S_IMODE(d.stat().st_mode)
        if mode & 0o001 == 0:
            d.chmod(mode | 0o001)
    p.chmod(stat.S_IMODE(p.stat().st_mode) | 0o005)


def chown_tree(path: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, uid, uid)
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), uid, uid)


def run_as(uid: int, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*as_uid(uid), *argv], capture_output=True, text=True, timeout=30)


def pid_alive(pid: int) -> bool:
    """True while pid runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_until(predicate: object, timeout: float, step: float = 0.05) -> bool:
    """Poll predicate() until it is true or timeout seconds pass; returns its last value."""
    assert callable(predicate)
    end = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)
