"""Two teammates with stores in different directories share builds through a real registry (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

from oci_kit import Mate, Origin, Registry, builds, clone, needs_registry, team_project

pytestmark = needs_registry


def pushed_team(tmp_path: Path, registry: Registry, origin: Origin) -> tuple[Mate, str, Path, Path]:
    """A locks, builds and pushes the project; returns A, A's public key, the project and the counter."""
    counter = tmp_path / "builds.txt"
    a = Mate(tmp_path, "a")
    proj = team_project(tmp_path / "a" / "proj", origin, counter)
    a.envr("allow", cwd=proj)
    a.envr("lock", cwd=proj)
    a.envr("sync", cwd=proj)
    assert builds(counter) == ["tool", "greet"]
    key = a.keygen("team-1")
    r = a.envr("cache", "push", registry.url("envr-cache"), cwd=proj)
    assert "2 pushed" in r.stderr, r.stderr
    return a, key, proj, counter


def test_a_teammate_substitutes_what_another_pushed_without_building_or_downloading(
    tmp_path: Path, registry: Registry, origin: Origin
) -> None:
    a, key, proj, counter = pushed_team(tmp_path, registry, origin)
    served = len(origin.requests)
    b = Mate(tmp_path, "b")
    b.trust(registry.url("envr-cache"), key)
    proj_b = clone(proj, tmp_path / "b" / "proj")
    b.envr("allow", cwd=proj_b)
    r = b.envr("sync", cwd=proj_b)
    assert builds(counter) == ["tool", "greet"], "B built something"
    assert len(origin.requests) == served, f"B downloaded from the origin: {origin.requests[served:]}"
    assert r.stderr.count("substituted ") == 2, r.stderr
    assert "signed by team-1" in r.stderr
    assert b.store_paths() == a.store_paths() and b.store != a.store
    out = b.envr("exec", str(proj_b), "--", "sh", "-c", "tool && greet && echo TEAM=$TEAM", cwd=proj_b).stdout
    assert out.split("\n")[:3] == ["hello from the team tool", "greetings from the origin", "TEAM=ready"]
    assert "0 bad" in b.envr("store", "verify").stderr
    assert not b.leftovers()


def test_a_cache_signed_by_an_untrusted_key_is_refused_and_the_teammate_builds(
    tmp_path: Path, registry: Registry, origin: Origin
) -> None:
    _, _, proj, counter = pushed_team(tmp_path, registry, origin)
    c = Mate(tmp_path, "c")
    other = c.keygen("someone-else")
    c.trust(registry.url("envr-cache"), other)
    proj_c = clone(proj, tmp_path / "c" / "proj")
    c.envr("allow", cwd=proj_c)
    r = c.envr("sync", cwd=proj_c)
    assert "signed by team-1, none of them in trusted-public-keys" in r.stderr, r.stderr
    assert "substituted" not in r.stderr
    assert builds(counter) == ["tool", "greet", "tool", "greet"]
    assert "0 bad" in c.envr("store", "verify").stderr


def test_a_flipped_byte_in_a_layer_blob_is_caught_and_the_teammate_builds(
    tmp_path: Path, registry: Registry, origin: Origin
) -> None:
    a, key, proj, counter = pushed_team(tmp_path, registry, origin)
    tool = next(n for n in a.store_paths() if n.endswith("-tool-local"))
    listing = a.envr("cache", "ls", registry.url("envr-cache")).stdout
    assert tool in listing and "relocatable" in listing
    import json
    import urllib.request

    tag = tool
    req = urllib.request.Request(
        f"http://{registry.host}/v2/envr-cache/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    layer = json.load(urllib.request.urlopen(req, timeout=10))["layers"][0]["digest"]
    blob = registry.blob_file(layer)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))

    d = Mate(tmp_path, "d")
    d.trust(registry.url("envr-cache"), key)
    proj_d = clone(proj, tmp_path / "d" / "proj")
    d.envr("allow", cwd=proj_d)
    r = d.envr("sync", cwd=proj_d)
    assert f"blob {layer} has digest sha256:" in r.stderr and "tampered with or damaged" in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if layer in line]
    assert len(lines) == 1, r.stderr
    assert builds(counter) == ["tool", "greet", "tool"], "D should build tool and substitute greet"
    assert "substituted " in r.stderr and "greet" in r.stderr
    assert "0 bad" in d.envr("store", "verify").stderr
    assert not d.leftovers()
    v = a.envr("cache", "verify", registry.url("envr-cache"), ok=False, ENVR_TRUSTED_PUBLIC_KEYS=key)
    assert v.returncode == 1 and f"BAD oci://{registry.host}/envr-cache: blob {layer}" in v.stdout, v.stdout + v.stderr
    assert "1 bad" in v.stderr


def test_an_unreachable_cache_costs_one_line_then_is_skipped_for_a_while(tmp_path: Path, origin: Origin) -> None:
    from oci_kit import free_port

    counter = tmp_path / "builds.txt"
    m = Mate(tmp_path, "m")
    dead = f"oci://127.0.0.1:{free_port()}/nobody-home"
    m.trust(dead, m.keygen("mine"))
    proj = team_project(tmp_path / "m" / "proj", origin, counter)
    m.envr("allow", cwd=proj)
    r = m.envr("exec", str(proj), "--", "tool", cwd=proj)
    assert r.stdout.strip() == "hello from the team tool"
    failed = [line for line in r.stderr.splitlines() if dead in line]
    assert len(failed) == 1 and "cannot connect" in failed[0] and "skipping" in failed[0], r.stderr
    assert builds(counter) == ["tool", "greet"]
    (proj / "src" / "hello.sh").write_text("#!/bin/sh\necho changed\n")
    m.envr("allow", cwd=proj)
    r = m.envr("sync", cwd=proj)
    assert dead not in r.stderr, "a cache that just failed was asked again"
    assert builds(counter)[2:] == ["tool", "greet"]  # greet takes tool as input: a new greet too


def test_a_path_that_holds_its_own_store_path_goes_only_to_a_store_at_the_same_directory(
    tmp_path: Path, registry: Registry, origin: Origin
) -> None:
    counter = tmp_path / "builds.txt"
    fixed = (
        'where = { path = "./src", build = "mkdir -p $out/bin && printf \'#!/bin/sh\\\\necho %s\\\\n\' $out '
        f'> $out/bin/where && chmod +x $out/bin/where && echo where >> {counter}" }}\n'
    )
    shared_store = tmp_path / "shared-store"
    a = Mate(tmp_path, "a", store=shared_store)
    proj = team_project(tmp_path / "a" / "proj", origin, counter, extra=fixed)
    a.envr("allow", cwd=proj)
    a.envr("sync", cwd=proj)
    key = a.keygen("team-1")
    a.envr("cache", "push", registry.url("c"), cwd=proj)
    where = next(n for n in a.store_paths() if "-where-" in n)
    assert f"{where}\t" in a.envr("cache", "ls", registry.url("c")).stdout
    assert f"fixed:{shared_store}" in a.envr("cache", "ls", registry.url("c")).stdout

    b = Mate(tmp_path, "b")  # another store directory: the path cannot go there
    b.trust(registry.url("c"), key)
    proj_b = clone(proj, tmp_path / "b" / "proj")
    b.envr("allow", cwd=proj_b)
    r = b.envr("sync", cwd=proj_b)
    assert f"holds its own path, so it fits only a store at {shared_store}, not {b.store}" in r.stderr, r.stderr
    assert builds(counter).count("where") == 2
    assert b.envr("exec", str(proj_b), "--", "where", cwd=proj_b).stdout.strip() == str(b.store / where)

    os.rename(shared_store, tmp_path / "a-store-moved-away")  # a new machine whose store is at A's directory
    e = Mate(tmp_path, "e", store=shared_store)
    e.trust(registry.url("c"), key)
    proj_e = clone(proj, tmp_path / "e" / "proj")
    e.envr("allow", cwd=proj_e)
    r = e.envr("sync", cwd=proj_e)
    assert r.stderr.count("substituted ") == 3, r.stderr
    assert builds(counter).count("where") == 2
    assert e.envr("exec", str(proj_e), "--", "where", cwd=proj_e).stdout.strip() == str(shared_store / where)
