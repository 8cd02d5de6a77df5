"""Bundles: a project's closure in one file, imported offline into another store, or entered without envr."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from oci_kit import Mate, Origin, builds, clone, team_project


def bundled(tmp_path: Path, origin: Origin) -> tuple[Mate, str, Path, Path, Path]:
    counter = tmp_path / "builds.txt"
    a = Mate(tmp_path, "a")
    proj = team_project(tmp_path / "a" / "proj", origin, counter)
    a.envr("allow", cwd=proj)
    a.envr("lock", cwd=proj)
    a.envr("sync", cwd=proj)
    key = a.keygen("team-1")
    out = tmp_path / "team.bundle.tar"
    r = a.envr("bundle", "-o", str(out), cwd=proj)
    assert "2 store paths, signed by team-1" in r.stderr, r.stderr
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert {"oci-layout", "index.json", "envr.toml", "envr.lock", "enter"} <= set(names)
    return a, key, proj, counter, out


def test_a_bundle_imports_offline_into_a_fresh_store_and_its_tools_run(tmp_path: Path, origin: Origin) -> None:
    a, key, proj, counter, out = bundled(tmp_path, origin)
    origin.close()  # no network from here on
    b = Mate(tmp_path, "b")
    refused = b.envr("bundle", "--import", str(out), ok=False)
    assert refused.returncode == 1 and "no trusted-public-keys" in refused.stderr and not b.store_paths()
    b.env["ENVR_TRUSTED_PUBLIC_KEYS"] = b.keygen("not-the-signer")
    refused = b.envr("bundle", "--import", str(out), ok=False)
    assert "signed by team-1, none of them in trusted-public-keys" in refused.stderr and not b.store_paths()
    b.env["ENVR_TRUSTED_PUBLIC_KEYS"] = key
    r = b.envr("bundle", "--import", str(out))
    assert "2 store paths imported" in r.stderr, r.stderr
    assert b.store_paths() == a.store_paths()
    proj_b = clone(proj, tmp_path / "b" / "proj")
    b.envr("allow", cwd=proj_b)
    run = b.envr("exec", str(proj_b), "--", "sh", "-c", "tool; greet", cwd=proj_b)
    assert run.stdout.split("\n")[:2] == ["hello from the team tool", "greetings from the origin"]
    assert builds(counter) == ["tool", "greet"]
    assert "0 bad" in b.envr("store", "verify").stderr
    assert "0 store paths imported, 2 already" in b.envr("bundle", "--import", str(out)).stderr


def test_a_tampered_bundle_registers_nothing(tmp_path: Path, origin: Origin) -> None:
    _, key, _, _, out = bundled(tmp_path, origin)
    work = tmp_path / "unpacked"
    work.mkdir()
    with tarfile.open(out) as tar:
        if hasattr(tarfile, "data_filter"):  # our own bundle; Python 3.11.2 has no filters
            tar.extractall(work, filter="data")
        else:
            tar.extractall(work)
    index = json.loads((work / "index.json").read_text())
    tool = next(
        m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"].endswith("-tool-local")
    )
    manifest = json.loads((work / "blobs" / "sha256" / tool["digest"][7:]).read_text())
    tool_layer = work / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    data = bytearray(tool_layer.read_bytes())
    data[-20] ^= 0xFF
    tool_layer.write_bytes(bytes(data))
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        for p in sorted(work.iterdir()):
            tar.add(p, p.name)
    b = Mate(tmp_path, "b")
    r = b.envr("bundle", "--import", str(bad), ok=False, ENVR_TRUSTED_PUBLIC_KEYS=key)
    assert r.returncode == 1 and f"blob sha256:{tool_layer.name}" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert b.store_paths() == []  # tool comes first (greet references it) and fails: nothing is registered
    assert not b.leftovers()
    assert "0 bad" in b.envr("store", "verify").stderr


def test_enter_runs_a_tool_on_a_machine_without_envr(tmp_path: Path, origin: Origin) -> None:
    a, _, _, _, out = bundled(tmp_path, origin)
    origin.close()
    where = tmp_path / "carried"
    where.mkdir()
    subprocess.run(["tar", "-xf", str(out), "-C", str(where)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "-s", "sh", str(where / "enter")], check=True)
    os.rename(a.store, tmp_path / "a-store-elsewhere")  # the other machine has no store at all
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TEAM": "overridden"}
    r = subprocess.run(
        [str(where / "enter"), "sh", "-c", 'tool; greet; echo "TEAM=$TEAM ROOT=$ENVR_ROOT"'],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "hello from the team tool",
        "greetings from the origin",
        f"TEAM=ready ROOT={where}",
    ]
    assert sorted(os.listdir(a.store)) == a.store_paths() and len(a.store_paths()) == 2
    again = subprocess.run([str(where / "enter"), "tool"], env=clean, capture_output=True, text=True, timeout=60)
    assert again.stdout == "hello from the team tool\n"
    assert not any(n.startswith(".tmp-enter") for n in os.listdir(a.store))
