"""Helpers for store tests: a loopback HTTP server fixture, archive builders, project files, running envr."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envr_testing import run_envr as _run_envr


def run_envr(
    *args: str, cwd: Path | str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The kit's run_envr with the store tests' shorter default timeout."""
    return _run_envr(*args, cwd=cwd, env=env, timeout=timeout)


class Server:
    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.requests: list[str] = []

    def put(self, name: str, data: bytes) -> tuple[str, str]:
        """Serve data at /name; returns (url, sha256)."""
        (self.root / name).write_bytes(data)
        return f"{self.url}/{name}", hashlib.sha256(data).hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "served"
    root.mkdir()
    holder: dict[str, Server] = {}

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            holder["s"].requests.append(self.path)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["s"] = Server(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield holder["s"]
    httpd.shutdown()
    httpd.server_close()


def tar_bytes(files: dict[str, tuple[bytes, int]], mode: str = "w:gz", links: dict[str, str] | None = None) -> bytes:
    """An archive with files {name: (content, mode)} and symlinks {name: target}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:  # type: ignore[call-overload]
        for name, (content, perm) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = perm
            tar.addfile(info, io.BytesIO(content))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def zip_bytes(files: dict[str, tuple[bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (content, perm) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | perm) << 16
            z.writestr(info, content)
    return buf.getvalue()


HELLO = b"#!/bin/sh\necho hello from the store\n"


def write_project(root: Path, packages: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "envr.toml").write_text(f"version = 1\n\n[packages]\n{packages}\n")
    r = run_envr("allow", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


def store_entries(store: Path) -> list[str]:
    """Store paths on disk (not the bookkeeping dot-files)."""
    if not store.exists():
        return []
    return sorted(n for n in os.listdir(store) if not n.startswith("."))
