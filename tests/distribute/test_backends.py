"""The other places a cache can live, and registries that ask for a login."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from oci_kit import Mate, Origin, builds, clone, needs_registry, start_registry, stop, team_project


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
def test_a_registry_that_asks_for_a_login_gets_the_one_in_the_docker_auth_file(
    tmp_path: Path, origin: Origin
) -> None:
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
        podman.write_text(json.dumps({"auths": {f"{reg.host}/private": {"auth": base64.b64encode(b"alice:nope").decode()}}}))
        r = a.envr("cache", "ls", url, ok=False, XDG_RUNTIME_DIR=str(a.home / "runtime"))
        assert r.returncode == 1 and "not authorised" in r.stderr, r.stderr
        assert "2 store paths" in a.envr("cache", "ls", url).stderr
    finally:
        stop(reg.proc)
