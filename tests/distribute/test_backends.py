"""The other places a cache can live, and registries that ask for a login."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from oci_kit import Mate, Origin, Registry, builds, clone, needs_registry, start_registry, stop, team_project


def test_a_file_layout_is_a_cache_and_a_static_server_over_it_substitutes_read_only(
    tmp_path: Path, origin: Origin
) -> None:
    counter = tmp_path / "builds.txt"
    a = Mate(tmp_path, "a")
    proj = team_project(tmp_path / "a" / "proj", origin, counter)
    a.envr("allow", cwd=proj)
    a.envr("sync", cwd=proj)
    key = a.keygen("team-1")
    layout = origin.root / "cache"  # published by the origin's static server too
    a.envr("cache", "push", f"file://{layout}", cwd=proj)
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert "2 present" in a.envr("cache", "push", f"file://{layout}", cwd=proj).stderr
    assert len(a.envr("cache", "ls", f"file://{layout}").stdout.splitlines()) == 2

    b = Mate(tmp_path, "b")
    b.trust(f"{origin.url}/cache", key)
    proj_b = clone(proj, tmp_path / "b" / "proj")
    b.envr("allow", cwd=proj_b)
    before = len(origin.requests)
    r = b.envr("sync", cwd=proj_b)
    assert r.stderr.count("substituted ") == 2, r.stderr
    assert builds(counter) == ["tool", "greet"]
    assert all(p.startswith("/cache/") for p in origin.requests[before:]), origin.requests[before:]
    b.keygen("b-1")
    refused = b.envr("cache", "push", f"{origin.url}/cache", ok=False, cwd=proj_b)
    assert refused.returncode == 1 and "read-only" in refused.stderr


@needs_registry
def test_a_registry_that_asks_for_a_login_gets_the_one_in_the_docker_auth_file(tmp_path: Path, origin: Origin) -> None:
    crypt = pytest.importorskip("crypt", reason="the crypt module makes the registry's bcrypt password")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)) + "\n")
    reg = start_registry(tmp_path, htpasswd)
    try:
        counter = tmp_path / "builds.txt"
        a = Mate(tmp_path, "a")
        proj = team_project(tmp_path / "a" / "proj", origin, counter)
        a.envr("allow", cwd=proj)
        a.envr("sync", cwd=proj)
        a.keygen("team-1")
        url = f"oci://{reg.host}/private"
        r = a.envr("cache", "push", url, cwd=proj, ok=False)
        assert r.returncode == 1 and "asks for a login" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
        docker = a.home / ".docker" / "config.json"
        docker.parent.mkdir()
        docker.write_text(json.dumps({"auths": {reg.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
        a.envr("cache", "push", url, cwd=proj)
        podman = a.home / "runtime" / "containers" / "auth.json"  # read before docker's file, as skopeo does
        podman.parent.mkdir(parents=True)
        podman.write_text(
            json.dumps({"auths": {f"{reg.host}/private": {"auth": base64.b64encode(b"alice:nope").decode()}}})
        )
        r = a.envr("cache", "ls", url, ok=False, XDG_RUNTIME_DIR=str(a.home / "runtime"))
        assert r.returncode == 1 and "not authorised" in r.stderr, r.stderr
        assert "2 store paths" in a.envr("cache", "ls", url).stderr
    finally:
        stop(reg.proc)


class TokenServer:
    """A registry token service (docker's token auth, as GHCR and Docker Hub speak it): it checks a Basic login
    and hands out an ES256 JWT whose x5c certificate the registry trusts."""

    def __init__(self, tmp: Path, user: str, password: str) -> None:
        import datetime
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "envr-test-token-issuer")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = tmp / "token-issuer.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.asked: list[str] = []
        server = self
        login = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                query = parse_qs(urlsplit(self.path).query)
                server.asked.append(query.get("scope", [""])[0])
                if self.headers.get("Authorization") != login:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": server.jwt(query)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def jwt(self, query: dict[str, list[str]]) -> str:
        import time

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        access = []
        for scope in query.get("scope", []):
            kind, repo, actions = scope.split(":")
            access.append({"type": kind, "name": repo, "actions": actions.split(",")})
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": "envr-test-issuer",
            "sub": "alice",
            "aud": "envr-test-registry",
            "exp": now + 600,
            "nbf": now - 60,
            "iat": now,
            "jti": str(now),
            "access": access,
        }
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@needs_registry
def test_a_registry_with_token_auth_gets_a_bearer_token_for_the_repository_scope(
    tmp_path: Path, origin: Origin
) -> None:
    tokens = TokenServer(tmp_path, "alice", "s3cret")
    token_auth = (
        f"auth:\n  token:\n    realm: {tokens.realm}\n    service: envr-test-registry\n"
        f"    issuer: envr-test-issuer\n    rootcertbundle: {tokens.bundle}\n"
    )
    reg = start_registry(tmp_path, auth=token_auth)
    try:
        counter = tmp_path / "builds.txt"
        a = Mate(tmp_path, "a")
        proj = team_project(tmp_path / "a" / "proj", origin, counter)
        a.envr("allow", cwd=proj)
        a.envr("sync", cwd=proj)
        key = a.keygen("team-1")
        url = f"oci://{reg.host}/team/cache"
        r = a.envr("cache", "push", url, cwd=proj, ok=False)
        assert r.returncode == 1 and "no token" in r.stderr, r.stderr
        login = {"auths": {f"http://{reg.host}/v2/": {"auth": base64.b64encode(b"alice:s3cret").decode()}}}
        (a.home / ".docker").mkdir()
        (a.home / ".docker" / "config.json").write_text(json.dumps(login))
        a.envr("cache", "push", url, cwd=proj)
        assert "repository:team/cache:pull,push" in tokens.asked
        b = Mate(tmp_path, "b")
        (b.home / ".docker").mkdir()
        (b.home / ".docker" / "config.json").write_text(json.dumps(login))
        b.trust(url, key)
        b.envr("allow", cwd=proj)
        assert b.envr("sync", cwd=proj).stderr.count("substituted ") == 2
        assert builds(counter) == ["tool", "greet"]
    finally:
        stop(reg.proc)
        tokens.close()


def test_a_path_with_a_link_to_an_absolute_path_is_skipped_with_one_line(tmp_path: Path) -> None:
    import os

    m = Mate(tmp_path, "m")
    proj = tmp_path / "proj"
    (proj / "venvish" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", proj / "venvish" / "bin" / "python")
    (proj / "plain" / "bin").mkdir(parents=True)
    (proj / "plain" / "bin" / "plain").write_text("#!/bin/sh\necho plain\n")
    (proj / "plain" / "bin" / "plain").chmod(0o755)
    (proj / "envr.toml").write_text(
        '[packages]\nvenvish = { path = "./venvish", bin = [] }\nplain = { path = "./plain" }\n'
    )
    m.envr("allow", cwd=proj)
    synced = m.envr("sync", cwd=proj, ok=False)
    if synced.returncode != 0 and "outside the package" in synced.stderr:
        pytest.skip("this store refuses a path that links outside itself in the first place")
    m.keygen("k")
    r = m.envr("cache", "push", f"file://{tmp_path}/cache", cwd=proj)
    skipped = [line for line in r.stderr.splitlines() if "symlink" in line]
    assert len(skipped) == 1 and "bin/python -> /usr/bin/python3" in skipped[0], r.stderr
    assert "1 pushed, 1 skipped" in r.stderr
    refused = m.envr("bundle", "-o", str(tmp_path / "b.tar"), cwd=proj, ok=False)
    assert refused.returncode == 1 and "cannot bundle" in refused.stderr and "/usr/bin/python3" in refused.stderr


@needs_registry
def test_big_blobs_go_up_in_chunks_and_come_back_verified(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import io
    import os

    from envr.store.cache import distribution
    from envr.store.cache.backend import read_verified
    from envr.store.cache.transport import CacheError, Transport

    monkeypatch.setattr(distribution, "CHUNKED_ABOVE", 1 << 20)
    monkeypatch.setattr(distribution, "CHUNK", 300_000)
    data = os.urandom(2_500_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    reg = distribution.Registry(registry.host, "chunks", Transport())
    sent: list[int] = []
    reg.put_blob(digest, len(data), io.BytesIO(data), sent.append)
    assert sum(sent) == len(data) and reg.has_blob(digest)
    back = io.BytesIO()
    read_verified(reg, digest, len(data), back.write)
    assert back.getvalue() == data
    with pytest.raises(CacheError, match=r"truncated"):
        read_verified(reg, digest, len(data) + 1, lambda _b: None)
    reg.close()
