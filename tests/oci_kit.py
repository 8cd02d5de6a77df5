"""Real parts for the distribution tests, all on 127.0.0.1: Debian's docker-registry (the CNCF distribution
registry) in a temp dir, an origin server that counts what it serves, teammates with their own stores,
and a busybox base image packed by umoci."""

from __future__ import annotations

import http.client
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ENVR = str(Path(sys.executable).parent / "envr")
REGISTRY = shutil.which("docker-registry")
needs_registry = pytest.mark.skipif(
    REGISTRY is None, reason="docker-registry is not installed (apt-get install docker-registry)"
)
needs_oci_tools = pytest.mark.skipif(
    shutil.which("skopeo") is None or shutil.which("umoci") is None or not os.path.exists("/usr/bin/busybox"),
    reason="skopeo, umoci and busybox-static are needed (apt-get install skopeo umoci busybox-static)",
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    def __init__(self, host: str, root: Path, proc: subprocess.Popen[bytes]) -> None:
        self.host = host
        self.root = root
        self.proc = proc

    def url(self, repo: str) -> str:
        return f"oci://{self.host}/{repo}"

    def blob_file(self, digest: str) -> Path:
        hexpart = digest.split(":", 1)[1]
        return self.root / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexpart[:2] / hexpart / "data"


def start_registry(tmp: Path, htpasswd: Path | None = None, auth: str = "") -> Registry:
    assert REGISTRY is not None
    root = tmp / "registry-data"
    for _attempt in range(3):
        port = free_port()
        if htpasswd:
            auth = f"auth:\n  htpasswd:\n    realm: envr-test\n    path: {htpasswd}\n"
        config = tmp / f"registry-{port}.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: envr-tests\n{auth}"
        )
        log = open(tmp / f"registry-{port}.log", "wb")  # noqa: SIM115  (the process writes it until the end)
        proc = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/v2/")
                status = conn.getresponse().status
                conn.close()
                if status in (200, 401):
                    return Registry(f"127.0.0.1:{port}", root, proc)
            except OSError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise RuntimeError(f"docker-registry did not start; see {tmp}/registry-*.log")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = start_registry(tmp_path)
    yield reg
    stop(reg.proc)


class Origin:
    """A loopback web server over a directory; requests lists every path asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        holder = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

            def log_message(self, format: str, *args: object) -> None:
                holder.requests.append(self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Origin]:
    (tmp_path / "origin").mkdir()
    o = Origin(tmp_path / "origin")
    yield o
    o.close()


class Mate:
    """A teammate: their own HOME, XDG dirs and store; envr run as they would run it."""

    def __init__(self, base: Path, name: str, store: Path | None = None) -> None:
        self.home = base / name
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = store or self.home / "store"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVR_", "XDG_"))}
        env |= {
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_STATE_HOME": str(self.home / "state"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "ENVR_STORE": str(self.store),
            "ENVR_SUBSTITUTERS": "",
            "ENVR_TRUSTED_PUBLIC_KEYS": "",
        }
        self.env = env

    def envr(
        self, *args: str, cwd: Path | None = None, ok: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **extra, "PWD": str(cwd or self.home)}
        r = subprocess.run([ENVR, *args], cwd=cwd or self.home, env=env, capture_output=True, text=True, timeout=300)
        if ok:
            assert r.returncode == 0, (
                f"envr {' '.join(args)}: exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
            )
        return r

    def keygen(self, name: str) -> str:
        return self.envr("cache", "keygen", name).stdout.strip().splitlines()[-1]

    def trust(self, url: str, *keys: str) -> None:
        self.env["ENVR_SUBSTITUTERS"] = url
        self.env["ENVR_TRUSTED_PUBLIC_KEYS"] = " ".join(keys)

    def store_paths(self) -> list[str]:
        if not self.store.exists():
            return []
        return sorted(n for n in os.listdir(self.store) if not n.startswith("."))

    def leftovers(self) -> list[str]:
        if not self.store.exists():
            return []
        return sorted(n for n in os.listdir(self.store) if n.startswith((".tmp-", ".trash-")))


def tarball(members: dict[str, tuple[bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (content, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def team_project(root: Path, origin: Origin, counter: Path, extra: str = "") -> Path:
    """A project with a path package built by a script and a url package (from origin) built on top of it.
    Every build appends its package's name to counter."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "hello.sh").write_text("#!/bin/sh\necho hello from the team tool\n")
    greet = tarball({"greet-1.0/greet": (b"#!/bin/sh\necho greetings from the origin\n", 0o755)})
    (origin.root / "greet-1.0.tar.gz").write_bytes(greet)
    (root / "envr.toml").write_text(
        f"""version = 1

[env]
TEAM = "ready"

[packages]
tool = {{ path = "./src", build = "mkdir -p $out/bin && cp hello.sh $out/bin/tool && chmod +x $out/bin/tool && echo tool >> {counter}" }}
greet = {{ url = "{origin.url}/greet-1.0.tar.gz", sha256 = "{sha256(greet)}", version = "1.0", inputs = ["tool"], build = "mkdir -p $out/bin && cp greet $out/bin/greet && echo greet >> {counter}" }}
{extra}"""
    )
    return root


def clone(src: Path, dest: Path) -> Path:
    """A teammate's checkout: the same files elsewhere."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".envr*"))
    return dest


def builds(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def busybox_layout(dest: Path) -> Path:
    """An OCI layout at dest with image `busybox:latest`: /bin/busybox and its applet links, packed by umoci."""
    rootfs = dest.parent / "busybox-rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2("/usr/bin/busybox", rootfs / "bin" / "busybox")
    applets = subprocess.run([str(rootfs / "bin" / "busybox"), "--list"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        if applet != "busybox":
            os.symlink("busybox", rootfs / "bin" / applet)
    (rootfs / "tmp").mkdir()
    (rootfs / "tmp").chmod(0o1777)

    def umoci(*args: str) -> None:
        subprocess.run(["umoci", *args], check=True, capture_output=True, timeout=120)

    bundle = dest.parent / "busybox-bundle"
    umoci("init", "--layout", str(dest))
    umoci("new", "--image", f"{dest}:latest")
    umoci("config", "--image", f"{dest}:latest", "--config.env", "PATH=/bin", "--config.cmd", "/bin/sh")
    umoci("unpack", "--rootless", "--image", f"{dest}:latest", str(bundle))
    shutil.rmtree(bundle / "rootfs")
    shutil.copytree(rootfs, bundle / "rootfs", symlinks=True)
    umoci("repack", "--image", f"{dest}:latest", str(bundle))
    return dest
