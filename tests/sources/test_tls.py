"""Issue 10 item 13: behind a TLS-inspecting proxy the company's CA is in the system store, so pip, curl and npm
(with NODE_EXTRA_CA_CERTS) work while uv, which ships its own roots, said `invalid peer certificate:
UnknownIssuer`. envr asks uv for the system store unless the user chose (UV_SYSTEM_CERTS, UV_NATIVE_TLS,
SSL_CERT_FILE), and names the one-line fix when uv or npm still does not trust a certificate.

The "proxy" is an HTTPS index on 127.0.0.1 with a certificate from a CA made here. Putting that CA into the
system store happens in a private mount namespace (a bind mount over /etc/ssl/certs), never on the host."""

from __future__ import annotations

import functools
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sources_helpers import ENVR, World, error_lines, python_wheel

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
can_namespace = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or not SYSTEM_BUNDLE.is_file(),
    reason="needs root, unshare and a Debian-style system bundle to stand in a private system store",
)


class Tls:
    def __init__(self, root: Path, url: str, ca: Path, store: Path) -> None:
        self.root, self.url, self.ca, self.store = root, url, ca, store


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tls]:
    d = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=envr test proxy CA",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    )
    index = d / "index" / "simple" / "tlstool"
    index.mkdir(parents=True)
    wheel = python_wheel(index, "tlstool", "1.0")
    (index / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    store = d / "system-certs"  # the system store with the proxy's CA added, as IT departments do
    store.mkdir()
    if SYSTEM_BUNDLE.is_file():
        (store / SYSTEM_BUNDLE.name).write_bytes(SYSTEM_BUNDLE.read_bytes() + (d / "ca.pem").read_bytes())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(d / "index"))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "srv.pem", d / "srv.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield Tls(d, f"https://127.0.0.1:{httpd.server_address[1]}", d / "ca.pem", store)
    finally:
        httpd.shutdown()
        httpd.server_close()


def user(tmp_path: Path, tls: Tls, **extra: str) -> World:
    """A user whose uv and npm settings are their own: no SSL_CERT_*, no uv TLS choice, the HTTPS index."""
    world = World(tmp_path / "w")
    drop = ("PIP_", "UV_", "SSL_CERT_", "NODE_EXTRA_CA_CERTS", "npm_config_", "NPM_CONFIG_")
    env = {k: v for k, v in world.env.items() if not k.startswith(drop)}
    env.update(UV_INDEX_URL=f"{tls.url}/simple", UV_CACHE_DIR=str(tmp_path / "uv-cache"), **extra)
    world.env = env
    return world


def add(world: World, root: Path, spec: str, tls: Tls | None = None) -> subprocess.CompletedProcess[str]:
    """envr add, in a private mount namespace whose system store trusts the test CA when tls is given."""
    prefix: list[str] = []
    if tls is not None:
        script = f'mount --bind "{tls.store}" /etc/ssl/certs && exec "$@"'
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    return subprocess.run(
        [*prefix, ENVR, "add", spec],
        cwd=root,
        env={**world.env, "PWD": str(root)},
        capture_output=True,
        text=True,
        timeout=180,
    )


@needs_openssl
@can_namespace
def test_uv_trusts_a_ca_in_the_system_store(tmp_path: Path, tls: Tls) -> None:
    world = user(tmp_path, tls)
    root = world.project("p", "")
    r = add(world, root, "pypi:tlstool", tls)
    assert r.returncode == 0, r.stderr
    assert world.run("exec", str(root), "--", "tlstool", cwd=root).stdout == "tlstool 1.0\n"


@needs_openssl
@can_namespace
def test_a_users_own_uv_tls_choice_is_kept_and_the_error_names_the_fix(tmp_path: Path, tls: Tls) -> None:
    world = user(tmp_path, tls, UV_SYSTEM_CERTS="0", UV_NATIVE_TLS="0")
    root = world.project("p", "")
    r = add(world, root, "pypi:tlstool", tls)
    assert r.returncode != 0
    [line] = error_lines(r.stderr)
    assert "UnknownIssuer" in line and "SSL_CERT_FILE" in line, line


@needs_openssl
def test_a_ca_the_system_does_not_trust_either_is_one_line_naming_the_fix(tmp_path: Path, tls: Tls) -> None:
    world = user(tmp_path, tls)
    root = world.project("p", "")
    r = add(world, root, "pypi:tlstool")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    [line] = error_lines(r.stderr)
    assert "pypi tlstool" in line and "does not trust" in line and "SSL_CERT_FILE" in line, line


@needs_openssl
def test_a_users_ssl_cert_file_is_what_uv_trusts(tmp_path: Path, tls: Tls) -> None:
    world = user(tmp_path, tls, SSL_CERT_FILE=str(tls.ca))
    root = world.project("p", "")
    assert add(world, root, "pypi:tlstool").returncode == 0


@needs_openssl
@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_npm_certificate_errors_name_node_extra_ca_certs(tmp_path: Path, tls: Tls) -> None:
    world = user(
        tmp_path,
        tls,
        npm_config_registry=f"{tls.url}/",
        npm_config_cache=str(tmp_path / "npm-cache"),
        npm_config_cafile=str(SYSTEM_BUNDLE if SYSTEM_BUNDLE.is_file() else tls.root / "srv.pem"),
        npm_config_fetch_retries="0",
    )
    root = world.project("p", "")
    r = add(world, root, "npm:tlstool@1.0.0")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    [line] = error_lines(r.stderr)
    assert "npm tlstool@1.0.0" in line and "NODE_EXTRA_CA_CERTS=" in line, line


@needs_openssl
@can_namespace
def test_npm_trusts_a_ca_in_the_system_store(tmp_path: Path, tls: Tls) -> None:
    """The same registry with the proxy's CA in the system store: npm gets past TLS (the test index is not an
    npm registry, so what it meets next is a 404, not a certificate error). Debian's node reads the system
    store itself; node's official builds (a pinned node runtime) do not, which NODE_EXTRA_CA_CERTS is for."""
    world = user(
        tmp_path,
        tls,
        npm_config_registry=f"{tls.url}/",
        npm_config_cache=str(tmp_path / "npm-cache"),
        npm_config_fetch_retries="0",
    )
    root = world.project("p", "")
    r = add(world, root, "npm:tlstool@1.0.0", tls)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    [line] = error_lines(r.stderr)
    assert "npm tlstool@1.0.0" in line and "certificate" not in line and "NODE_EXTRA_CA_CERTS" not in line, line
    assert "404" in line or "not found" in line.lower() or "Not Found" in line, line


def test_npm_gets_the_system_bundle_unless_the_user_chose(tmp_path: Path) -> None:
    from envr.store.sources._tools import npm_env, system_bundle

    if not os.path.isfile(system_bundle()):
        pytest.skip("no system CA bundle on this machine")
    base = {"HOME": str(tmp_path)}
    assert npm_env(base)["NODE_EXTRA_CA_CERTS"] == system_bundle()
    assert npm_env({**base, "NODE_EXTRA_CA_CERTS": "/mine.pem"})["NODE_EXTRA_CA_CERTS"] == "/mine.pem"
    assert "NODE_EXTRA_CA_CERTS" not in npm_env({**base, "npm_config_cafile": "/corp.pem"})
    (tmp_path / ".npmrc").write_text("cafile=/corp.pem\n")
    assert "NODE_EXTRA_CA_CERTS" not in npm_env(base)
