"""npm tools on the project's node runtime: installed with it, named by its store path, the same from any
directory and any PATH, and one generation for entering, cd-ing and leaving (not twins)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from envr_testing import make_npm_tarball
from runtime_kit import NodeMirror
from sources_helpers import World, one_error

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(shutil.which("npm") is None or shutil.which("bash") is None, reason="needs npm, bash")


def setup(world: World, mirror: NodeMirror, tmp_path: Path) -> Path:
    world.env.update(
        ENVR_NODE_MIRROR=mirror.root,
        npm_config_cache=str(tmp_path / "npm-cache"),
        npm_config_registry="http://127.0.0.1:9/",
        npm_config_offline="true",
    )
    root = world.tmp / "proj"
    (root / "src").mkdir(parents=True)
    tarball = make_npm_tarball(root / "vendor", tmp_path / "npm-pack-cache")
    (root / "envr.toml").write_text(
        f'[packages]\nnode = "node:{mirror.real}"\ndemo = {{ npm = "./vendor/{tarball.name}" }}\n'
    )
    assert world.run("allow", cwd=root).returncode == 0
    return root


def test_an_npm_tool_is_built_with_the_projects_node(world: World, node_mirror: NodeMirror, tmp_path: Path) -> None:
    root = setup(world, node_mirror, tmp_path)
    r = world.run("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    node = world.run("store", "path", "node", cwd=root).stdout.strip()
    tool = world.run("store", "path", "demo", cwd=root).stdout.strip()
    # the same store path from a subdirectory, and with the project's own bins (or none of node's) on PATH
    inside = f"{node}/.envr/bin:{tool}/.envr/bin:{world.env['PATH']}"
    for cwd, path in ((root / "src", world.env["PATH"]), (root, inside), (root / "src", "/usr/bin:/bin")):
        again = world.run("store", "path", "demo", cwd=cwd, extra={"PATH": f"{Path(sys.executable).parent}:{path}"})
        assert again.stdout.strip() == tool, again.stderr
    r = world.run("exec", str(root), "--", "sh", "-c", "lock-npm-demo; command -v node", cwd=world.tmp)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["hello", "from", "npm", f"{node}/.envr/bin/node"]
    one_error(world.run("store", "rm", node, cwd=world.tmp), "cannot remove", os.path.basename(tool))


def test_entering_cd_and_leaving_record_one_generation(world: World, node_mirror: NodeMirror, tmp_path: Path) -> None:
    root = setup(world, node_mirror, tmp_path)
    env = dict(world.env)
    env.update(PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin", PS1="PROMPT> ", TERM="dumb")
    bash = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], env=env, cwd=str(world.tmp), encoding="utf-8", timeout=120
    )
    try:
        bash.expect_exact("PROMPT> ")
        for line in (
            'eval "$(envr hook bash)"',
            f"cd {root}",
            "lock-npm-demo",
            "cd src",
            "lock-npm-demo",
            "cd ..",
            "cd ..",
            f"cd {root}/src",
            "cd /",
        ):
            bash.sendline(line)
            bash.expect_exact("PROMPT> ")
    finally:
        bash.sendline("exit")
        bash.close()
    r = world.run("generations", "--project", str(root), cwd=world.tmp)
    assert r.returncode == 0, r.stderr
    numbered = [line for line in r.stdout.splitlines() if re.match(r"^\s*\*?\s*\d+\b", line)]
    assert len(numbered) == 1, r.stdout
