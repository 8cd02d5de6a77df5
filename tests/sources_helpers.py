"""Helpers for the source tests: an isolated envr world run through the installed console script, archives
built by hand, and loopback HTTP servers that behave well or badly (slow, silent, trickling, 500, short)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from envr_testing import isolated_env

ENVR = str(Path(sys.executable).parent / "envr")
HELLO = b"#!/bin/sh\necho hello from the archive\n"
PROGRESS = ("envr: realising", "envr: realised", "envr: synced", "envr: resolving")


# --- an envr world ------------------------------------------------------------------------------------------


class World:
    """HOME, XDG dirs, ENVR_STORE and TMPDIR under one tmp dir; envr run as a user runs it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = isolated_env(tmp)

    @property
    def store(self) -> Path:
        return Path(self.env["ENVR_STORE"])

    def allowed_project(self, name: str, text: str) -> Path:
        """A project dir under this world holding envr.toml `text`, allowed."""
        root = self.tmp / name
        root.mkdir(parents=True, exist_ok=True)
        (root / "envr.toml").write_text(text, encoding="utf-8")
        r = self.run("allow", cwd=root)
        assert r.returncode == 0, r.stderr
        return root

    def run(
        self, *args: str, cwd: Path, timeout: float = 120, extra: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **(extra or {}), "PWD": str(cwd)}
        return subprocess.run(
            [ENVR, *args], cwd=cwd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
        )

    def popen(self, *args: str, cwd: Path, extra: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """envr in its own session (its pid is its process group), as a terminal's foreground job would be."""
        env = {**self.env, **(extra or {}), "PWD": str(cwd)}
        return subprocess.Popen(
            [ENVR, *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )

    def project(self, name: str, packages: str, env_section: str = "") -> Path:
        return self.allowed_project(name, f"{env_section}[packages]\n{packages}\n")

    def registered(self) -> list[str]:
        r = self.run("store", "ls", cwd=self.tmp)
        assert r.returncode == 0, r.stderr
        return [line.split("\t")[0] for line in r.stdout.splitlines() if line.strip()]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(PROGRESS)]


def one_error(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A refusal: non-zero exit, one line besides progress, naming every needle, no internal error."""
    assert r.returncode != 0, f"expected a failure: {r.stderr}"
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def url_entry(name: str, url: str, data: bytes | str, **extra: str) -> str:
    digest = data if isinstance(data, str) else sha256(data)
    fields = [f'url = "{url}"', f'sha256 = "{digest}"', *(f"{k} = {v}" for k, v in extra.items())]
    return f"{name} = {{ {', '.join(fields)} }}"


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(predicate: object, timeout: float, step: float = 0.05) -> bool:
    assert callable(predicate)
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(step)
    return True


# --- archives -----------------------------------------------------------------------------------------------


class M:
    """One member: kind file | dir | symlink | hardlink."""

    def __init__(
        self, name: str, kind: str = "file", data: bytes = b"x\n", target: str = "", mode: int = 0o644, uid: int = 0
    ) -> None:
        self.name, self.kind, self.data, self.target, self.mode, self.uid = name, kind, data, target, mode, uid

    def __repr__(self) -> str:
        return f"M({self.name!r}, {self.kind!r}, target={self.target!r})"


def tar_of(members: Sequence[M], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for m in members:
            ti = tarfile.TarInfo(m.name)
            ti.mode, ti.uid, ti.gid, ti.mtime = m.mode, m.uid, m.uid, 1_700_000_000
            if m.kind == "file":
                ti.size = len(m.data)
                t.addfile(ti, io.BytesIO(m.data))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[m.kind]
            ti.linkname = m.target
            t.addfile(ti)
    return buf.getvalue()


def zip_of(members: Sequence[M]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for m in members:
            name = m.name + "/" if m.kind == "dir" and not m.name.endswith("/") else m.name
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            zi.create_system = 3
            if m.kind == "file":
                zi.external_attr = (stat.S_IFREG | m.mode) << 16
                z.writestr(zi, m.data)
            elif m.kind == "dir":
                zi.external_attr = (stat.S_IFDIR | m.mode) << 16 | 0x10
                z.writestr(zi, b"")
            elif m.kind == "symlink":
                zi.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(zi, m.target.encode())
            else:
                raise ValueError("zip has no hard links")
    return buf.getvalue()


def chain(length: int, prefix: str = "a") -> list[M]:
    """a0 -> ., aK -> a(K-1)/..: each lexically '.', yet aK is K directories above on disk."""
    return [
        M(f"{prefix}0", "symlink", target="."),
        *(M(f"{prefix}{k}", "symlink", target=f"{prefix}{k - 1}/..") for k in range(1, length + 1)),
    ]


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None:
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for n in [*dirnames, *filenames]:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            what: object = None
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_nlink, what)
    return out


def escaping_links(root: Path) -> list[str]:
    real_root = os.path.realpath(root)
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in [*dirnames, *filenames]:
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                real = os.path.realpath(p)
                if real != real_root and not real.startswith(real_root + os.sep):
                    bad.append(f"{p} -> {os.readlink(p)}")
    return bad


# --- loopback servers ---------------------------------------------------------------------------------------


class Server:
    """A loopback HTTP server: files put into it are served; a path can be given a misbehaviour."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.behaviour: dict[str, str] = {}  # path -> ok | hang | trickle | trickle-head | 500 | short | slow
        self.requests: list[str] = []
        self.stop = threading.Event()
        self.url = ""

    def put(self, name: str, data: bytes, behaviour: str = "ok") -> str:
        self.files[f"/{name}"] = data
        self.behaviour[f"/{name}"] = behaviour
        return f"{self.url}/{name}"


@contextlib.contextmanager
def serve() -> Iterator[Server]:
    server = Server()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server.requests.append(self.path)
            data = server.files.get(self.path)
            how = server.behaviour.get(self.path, "ok")
            try:
                if data is None:
                    self.send_error(404)
                    return
                if how == "hang":
                    server.stop.wait(600)
                    return
                if how == "500":
                    self.send_error(500, "boom")
                    return
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                if how == "trickle-head":
                    for b in head:
                        if server.stop.wait(0.5):
                            return
                        self.wfile.write(bytes([b]))
                        self.wfile.flush()
                    return
                self.wfile.write(head)
                if how == "short":
                    self.wfile.write(data[: len(data) // 2])
                elif how in ("trickle", "slow"):
                    step, pause = (1, 0.2) if how == "trickle" else (len(data) // 20 + 1, 0.05)
                    for i in range(0, len(data), step):
                        if server.stop.wait(pause):
                            return
                        self.wfile.write(data[i : i + step])
                        self.wfile.flush()
                else:
                    self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True
            except OSError:
                return

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def silent_port() -> Iterator[str]:
    """A port whose kernel accepts connections (the backlog) and nobody ever answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    try:
        yield f"http://127.0.0.1:{s.getsockname()[1]}"
    finally:
        s.close()


# --- wheels -------------------------------------------------------------------------------------------------


def python_wheel(
    dest: Path,
    name: str,
    version: str,
    requires_python: str | None = None,
    main: str = "print('{name} {version}')",
    requires: Sequence[str] = (),
) -> Path:
    """A pure-Python wheel with one console script `name`, optionally limited by Requires-Python."""
    import base64

    info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        meta += f"Requires-Python: {requires_python}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name}.py": "def main():\n    " + main.format(name=name, version=version) + "\n",
        f"{info}/METADATA": meta,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: envr-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[console_scripts]\n{name} = {name}:main\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    out = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return out


def uv_world(world: World, wheels: Path, cache: Path) -> World:
    """The world's uv sees only the local wheels (no index, no pip settings of the machine)."""
    env = {k: v for k, v in world.env.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(wheels), UV_CACHE_DIR=str(cache))
    world.env = env
    return world
