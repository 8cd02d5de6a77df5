"""What a team's first day needs, made by the tests themselves, with envr used only as a user uses it.

Nothing here imports envr: the CLI is the `envr` console script next to sys.executable and the hook is what
`envr hook KIND` prints, sourced in a real interactive shell (tests/shellkit.py). Everything served comes from
a loopback HTTP server on 127.0.0.1 that counts the requests it gets (a PyPI-style simple index, url
tarballs, and routes that fail on purpose); npm tools are `npm pack` tarballs vendored in the repository; the
repository itself is a real git repository that teammates `git clone`.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from shellkit import ENVR, SYSTEM_PATH, Result, Session, Shell
from wheelmaker import make_wheel

# The interpreter envr runs on, as its user would have it on PATH (a pyenv or system python): uv looks there
# for the Python that pypi tools get. Debian's /usr/bin is on SYSTEM_PATH already.
PYTHON_BIN = str(Path(sys.base_prefix) / "bin")
USER_PATH = SYSTEM_PATH if PYTHON_BIN in SYSTEM_PATH.split(":") else f"{PYTHON_BIN}:{SYSTEM_PATH}"
# How long a realising prompt may take before a test calls the prompt blocked (a hang detector, not a speed
# check: a cold first sync of the whole team project takes seconds).
SYNC_LIMIT = 240.0
# No request loop of a test server waits longer than this for a test to release it.
HOLD_LIMIT = 120.0
CRASH_SIGNS = ("internal error", "Traceback")


# -- a loopback HTTP server that counts -----------------------------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    # "answer", "hang" (read the request, never answer), or "stall" (answer once `gate` opens, with the
    # status the route has then)
    behaviour: str = "answer"
    gate: threading.Event = field(default_factory=threading.Event)


class Loopback:
    """An HTTP server on 127.0.0.1 serving Routes by path, counting GETs by path (HEADs as "HEAD path")."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.arrived = threading.Condition()
        self.closing = threading.Event()
        loop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.answer(body=True)

            def do_HEAD(self) -> None:  # uv asks before it downloads a wheel
                self.answer(body=False)

            def answer(self, body: bool) -> None:
                path = urlsplit(self.path).path
                with loop.arrived:
                    loop.hits[path if body else f"HEAD {path}"] += 1
                    loop.arrived.notify_all()
                route = loop.routes.get(path) or loop.routes.get(path.rstrip("/") + "/")
                if route is None:
                    self.send_error(404)
                    return
                if route.behaviour == "hang":
                    loop.closing.wait(HOLD_LIMIT)
                    self.close_connection = True
                    return
                if route.behaviour == "stall" and body:
                    route.gate.wait(HOLD_LIMIT)
                try:
                    if route.status != 200:
                        self.send_error(route.status)
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if body:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (Ctrl-C, a timeout)
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes = b"", **options: object) -> str:
        """Serve body at path (options: Route's fields); returns its URL."""
        self.routes[path] = Route(body, **options)  # type: ignore[arg-type]
        return self.base + path

    def count(self, path: str) -> int:
        with self.arrived:
            return self.hits[path]

    def wait_for(self, path: str, at_least: int = 1, timeout: float = 60) -> None:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: self.hits[path] >= at_least, timeout)
        assert ok, f"no request for {path} within {timeout}s (got {dict(self.hits)})"

    def close(self) -> None:
        self.closing.set()
        for route in self.routes.values():
            route.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def loopback() -> Iterator[Loopback]:
    server = Loopback()
    try:
        yield server
    finally:
        server.close()


# -- what gets served or vendored -----------------------------------------------------------------------------


def marker(name: str) -> str:
    """What the tool `name` prints: identifiable, and unlike anything else a shell prints."""
    return f"dayone-marker:{name}:ok"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish_index(server: Loopback, dists: list[Path]) -> str:
    """A PEP 503 simple index of dists (wheels and sdists) on server; returns the index URL."""
    by_project: dict[str, list[Path]] = collections.defaultdict(list)
    for dist in dists:
        project = dist.name.split("-")[0].lower().replace("_", "-")
        by_project[project].append(dist)
    for project, files in by_project.items():
        links = []
        for dist in files:
            data = dist.read_bytes()
            server.serve(f"/files/{dist.name}", data)
            links.append(f'<a href="/files/{dist.name}#sha256={sha256(data)}">{dist.name}</a><br>')
        page = f"<!DOCTYPE html><html><body>{''.join(links)}</body></html>"
        server.serve(f"/simple/{project}/", page.encode(), content_type="text/html")
    roots = "".join(f'<a href="/simple/{p}/">{p}</a><br>' for p in sorted(by_project))
    server.serve("/simple/", f"<!DOCTYPE html><html><body>{roots}</body></html>".encode(), content_type="text/html")
    return f"{server.base}/simple"


def tool_wheel(dest: Path, name: str, version: str = "1.0", requires: tuple[str, ...] = ()) -> Path:
    """A wheel of distribution `name` whose console script `name` prints marker(name) and the versions of
    what it requires (so a missing dependency shows)."""
    module = name.replace("-", "_")
    imports = "".join(f"    import {r.split('==')[0].replace('-', '_')}\n" for r in requires)
    code = f"def main():\n{imports}    print({marker(name)!r}, {version!r})\n"
    return make_wheel(
        dest, module, version, {f"{module}.py": code}, f"[console_scripts]\n{name} = {module}:main\n", requires
    )


def library_wheel(dest: Path, name: str, version: str = "1.0") -> Path:
    module = name.replace("-", "_")
    return make_wheel(dest, module, version, {f"{module}.py": "VALUE = 1\n"})


def npm_tarball(dest: Path, name: str, version: str, work: Path) -> Path:
    """`npm pack` of a package whose bin `name` prints marker(name); written into dest."""
    src = work / f"npm-src-{name}"
    src.mkdir(parents=True)
    (src / "package.json").write_text(
        json.dumps({"name": name, "version": version, "bin": {name: "cli.js"}, "license": "MIT"})
    )
    (src / "cli.js").write_text(f"#!/usr/bin/env node\nconsole.log({json.dumps(marker(name))});\n")
    (src / "cli.js").chmod(0o755)
    dest.mkdir(parents=True, exist_ok=True)
    env = {"PATH": SYSTEM_PATH, "HOME": str(work), "npm_config_cache": str(work / "npm-pack-cache")}
    subprocess.run(
        ["npm", "pack", "--pack-destination", str(dest), str(src)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    made = dest / f"{name}-{version}.tgz"
    assert made.is_file(), list(dest.iterdir())
    return made


def tarball(members: Mapping[str, tuple[str, int]]) -> bytes:
    """A .tar.gz of {name: (text, mode)}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (text, mode) in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tool_tarball(name: str, version: str = "1.0") -> bytes:
    """A release tarball like most: one top directory, the executable in its bin/."""
    return tarball({f"{name}-{version}/bin/{name}": (f"#!/bin/sh\necho {marker(name)}\n", 0o755)})


def failing_sdist(dest: Path, name: str, builds: Path, version: str = "1.0") -> Path:
    """An sdist whose in-tree build backend gives metadata (so it locks) but whose build_wheel appends a line
    to `builds` and exits 1: every build attempt is counted."""
    module = name.replace("-", "_")
    top = f"{module}-{version}"
    backend = (
        "import os, sys\n\n"
        f"METADATA = 'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n'\n\n\n"
        "def get_requires_for_build_wheel(config_settings=None):\n    return []\n\n\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    info = '{module}-{version}.dist-info'\n"
        "    os.makedirs(os.path.join(metadata_directory, info))\n"
        "    with open(os.path.join(metadata_directory, info, 'METADATA'), 'w') as f:\n"
        "        f.write(METADATA)\n"
        "    return info\n\n\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        f"    with open({str(builds)!r}, 'a') as f:\n"
        "        f.write('build\\n')\n"
        "    print('dayone: this backend always fails', file=sys.stderr)\n"
        "    sys.exit(1)\n"
    )
    pyproject = (
        f'[build-system]\nrequires = []\nbuild-backend = "dayone_backend"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    members = {
        f"{top}/pyproject.toml": (pyproject, 0o644),
        f"{top}/dayone_backend.py": (backend, 0o644),
        f"{top}/PKG-INFO": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", 0o644),
    }
    path = dest / f"{top}.tar.gz"
    path.write_bytes(tarball(members))
    return path


# -- people: an author with a repository, teammates with fresh homes -------------------------------------------


def fresh_home(root: Path) -> dict[str, str]:
    """A person's own HOME, XDG dirs, uv cache and npm cache, all new, under root."""
    env = {
        "HOME": str(root / "home"),
        "XDG_DATA_HOME": str(root / "xdg-data"),
        "XDG_CACHE_HOME": str(root / "xdg-cache"),
        "XDG_STATE_HOME": str(root / "xdg-state"),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        "UV_CACHE_DIR": str(root / "uv-cache"),
        "npm_config_cache": str(root / "npm-cache"),
    }
    for value in env.values():
        Path(value).mkdir(parents=True, exist_ok=True)
    return env


def team_settings(index: str | None) -> dict[str, str]:
    """What everyone on the team has set: the team's package index, no npm registry (the npm tools are
    vendored tarballs, so an unreachable registry proves none is needed), uv never downloading a Python."""
    env = {"npm_config_registry": "http://127.0.0.1:9/", "UV_PYTHON_DOWNLOADS": "never"}
    if index is not None:
        env["UV_INDEX_URL"] = index
    return env


def author_env(root: Path, index: str | None) -> dict[str, str]:
    return {
        **fresh_home(root),
        **team_settings(index),
        "PATH": f"{Path(ENVR).parent}:{USER_PATH}",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": os.environ.get("USER", "author"),
        "ENVR_STORE": str(root / "store"),
    }


def run(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float = SYNC_LIMIT) -> str:
    """Run a command that must succeed; returns its output (stdout and stderr)."""
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env={**env, "PWD": str(cwd)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stdout}"
    return proc.stdout


GIT = [
    "git",
    "-c",
    "user.name=Dayone Author",
    "-c",
    "user.email=author@example.invalid",
    "-c",
    "init.defaultBranch=main",
]


def publish(project: Path, env: Mapping[str, str]) -> Path:
    """The author's part: allow, lock and commit the project (a git repository); returns the repository."""
    run([str(ENVR), "allow"], project, env)
    run([str(ENVR), "lock"], project, env)
    assert (project / "envr.lock").is_file()
    git_env = {**env, "GIT_CONFIG_NOSYSTEM": "1"}
    run([*GIT, "init", "-q"], project, git_env)
    run([*GIT, "add", "-A"], project, git_env)
    run([*GIT, "commit", "-q", "-m", "Our tools, locked"], project, git_env)
    return project


def clone(repo: Path, dest: Path, env: Mapping[str, str]) -> Path:
    run([*GIT, "clone", "-q", str(repo), str(dest)], dest.parent, {**env, "GIT_CONFIG_NOSYSTEM": "1"})
    return dest


class Teammate:
    """A fresh user: a shellkit Session (own HOME and XDG dirs) plus an own uv and npm cache and the team's
    settings; its store is ENVR_STORE under its tmp dir, or (default_store) the default under XDG_DATA_HOME."""

    def __init__(self, kind: str, tmp: Path, index: str | None, default_store: bool = False, **extra: str) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.session = Session(kind, tmp)
        env = self.session.env
        env.update(fresh_home(tmp))
        env.update(team_settings(index))
        env.update(PATH=USER_PATH, **extra)
        if default_store:
            del env["ENVR_STORE"]
        self.store = Path(env.get("ENVR_STORE") or Path(env["XDG_DATA_HOME"]) / "envr" / "store")
        self.home = tmp

    def shell(self) -> Shell:
        return self.session.shell()

    def envr(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """envr run outside any shell, with this user's environment."""
        return subprocess.run(
            [ENVR, *args],
            cwd=cwd,
            env={**self.session.env, "PWD": str(cwd)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SYNC_LIMIT,
            check=False,
        )

    def close(self) -> None:
        self.session.close()


@contextmanager
def patience(sh: Shell, seconds: float = SYNC_LIMIT) -> Iterator[None]:
    """Let the shell's next commands take up to `seconds` (a prompt that realises packages)."""
    before = sh.child.timeout
    sh.child.timeout = seconds
    try:
        yield
    finally:
        sh.child.timeout = before


def lines_of(*results: Result) -> list[str]:
    """Every line the commands and the prompts after them printed."""
    out: list[str] = []
    for res in results:
        out.extend(res.out.splitlines())
        out.extend(res.hook)
    return out


def crashes(lines: list[str]) -> list[str]:
    return [line for line in lines if any(sign in line for sign in CRASH_SIGNS)]


def store_entries(store: Path, package: str) -> list[str]:
    """Names in the store that belong to package: finished paths (<hash>-NAME-VERSION) or leftovers."""
    if not store.is_dir():
        return []
    return sorted(n for n in os.listdir(store) if f"-{package}-" in n)
