"""The prompt's lean path, enforced: entering a realised project, with packages of any kind, imports nothing
heavy and starts no process.

Each project is set up as a user would (envr allow, envr lock, envr sync), then the core runs the way the hook
starts it: a cold `python -I` importing envr.prompt.entry, in the project directory. An audit hook records any
attempt to start a process; sys.modules afterwards says what was imported.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from envr_testing import make_npm_tarball, make_wheelhouse, needs_node, offline_env, ok, run_envr

HEAVY = ("typing", "re", "json", "threading", "subprocess", "packaging", "tomllib", "dataclasses", "concurrent")
PROCESS_EVENTS = ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.fork", "os.forkpty", "os.spawn", "os.system")
PROBE = f"""
import os, sys
events = []
sys.addaudithook(lambda event, args: events.append(event) if event in {PROCESS_EVENTS!r} else None)
sys.path.insert(0, sys.argv[1])
from envr.prompt.entry import main
code = main(["bash"])
heavy = [m for m in {HEAVY!r} if m in sys.modules]
os.write(2, ("PROBE " + repr((code, events, heavy)) + "\\n").encode())
"""


def _tarball(path: Path) -> str:
    script = b"#!/bin/sh\necho from-url\n"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("tool-1.0/bin/urltool")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _project(kind: str, root: Path, tmp: Path) -> str:
    """envr.toml's [packages] table for a project of this kind (files it needs made under root)."""
    if kind == "plain":
        return ""
    if kind == "path":
        (root / "tools").mkdir()
        (root / "tools" / "hi").write_text("#!/bin/sh\necho hi\n")
        (root / "tools" / "hi").chmod(0o755)
        return 'tools = { path = "./tools", bin = ["hi"] }\n'
    if kind == "build":
        (root / "src").mkdir()
        (root / "src" / "greet").write_text("#!/bin/sh\necho built\n")
        return 'greet = { path = "./src", build = "mkdir -p $out/bin; cp greet $out/bin/; chmod +x $out/bin/greet" }\n'
    if kind == "url":
        sha = _tarball(tmp / "tool-1.0.tar.gz")
        return f'urltool = {{ url = "file://{tmp}/tool-1.0.tar.gz", sha256 = "{sha}", bin = ["*/bin/urltool"] }}\n'
    if kind == "pypi":
        return 'lockdemo = "pypi:lockdemo==1.0"\n'
    if kind == "npm":
        tarball = make_npm_tarball(root / "vendor", tmp / "npm-pack-cache")
        return f'demo = {{ npm = "./vendor/{tarball.name}" }}\n'
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["plain", "path", "build", "url", "pypi", pytest.param("npm", marks=needs_node)])
def test_entering_a_realised_project_imports_nothing_heavy_and_starts_no_process(
    isolated: Path, tmp_path: Path, kind: str
) -> None:
    env = offline_env(make_wheelhouse(tmp_path / "wheels"), tmp_path)
    root = tmp_path / "proj"
    root.mkdir()
    packages = _project(kind, root, tmp_path)
    (root / "envr.toml").write_text('[env]\nGREETING = "hi"\n' + (f"[packages]\n{packages}" if packages else ""))
    ok(run_envr("allow", cwd=root, env=env))
    if packages:
        ok(run_envr("lock", cwd=root, env=env))
    if packages:
        ok(run_envr("sync", cwd=root, env=env))

    lib = str(Path(str(__import__("envr").__file__)).parent.parent)
    probe = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, lib],
        cwd=root,
        env={**env, "PWD": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(x for x in probe.stderr.splitlines() if x.startswith("PROBE "))
    code, events, heavy = ast.literal_eval(line.removeprefix("PROBE "))
    assert code == 0, probe.stderr
    assert "export GREETING='hi'" in probe.stdout, probe.stdout  # the project really loaded
    if packages:
        assert "/store/" in probe.stdout, probe.stdout  # with its packages on PATH
    assert "missing" not in probe.stderr, probe.stderr
    assert events == [], f"the prompt started a process: {events}"
    assert heavy == [], f"the prompt imported {heavy}"
    assert os.path.isdir(root)
