"""python runtimes from a loopback mirror in python-build-standalone's layout, serving a relocatable build
made from this machine's own CPython; pypi tools and the project venv built on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from sources_helpers import World, one_error, python_wheel, uv_world


def listed(mirror: Any) -> dict[str, str]:
    return {"UV_PYTHON_DOWNLOADS_JSON_URL": mirror.downloads_url}


def minor(mirror: Any) -> str:
    return ".".join(mirror.real.split(".")[:2])


def test_python_realises_and_runs_from_its_store_path(world: World, python_mirror: Any) -> None:
    root = world.allowed_project("p", f'[packages]\npython = "python:{minor(python_mirror)}"\n')
    r = world.run("sync", cwd=root, extra=listed(python_mirror))
    assert r.returncode == 0, r.stderr
    code = "import sys, ssl, sqlite3, json; print(sys.prefix); print('%d.%d.%d' % sys.version_info[:3])"
    for exe in ("python", "python3", f"python{minor(python_mirror)}"):
        r = world.run("exec", str(root), "--", exe, "-c", code, cwd=world.tmp, extra=listed(python_mirror))
        assert r.returncode == 0, r.stderr
        prefix, version = r.stdout.split()
        assert prefix.startswith(str(world.store) + "/") and prefix.endswith("/python")
        assert version == python_mirror.real


def test_locking_python_for_every_platform_downloads_no_archive(world: World, python_mirror: Any) -> None:
    root = world.allowed_project(
        "l",
        'platforms = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"]\n[packages]\npython = "python:3.12"\n',
    )
    r = world.run("lock", cwd=root, extra=listed(python_mirror))
    assert r.returncode == 0, r.stderr
    entry = tomllib.loads((root / "envr.lock").read_text())["packages"]["python"]
    assert entry["version"] == "3.12.7"
    for p in ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"):
        assert entry[p]["url"].startswith(python_mirror.root) and len(entry[p]["sha256"]) == 64
    assert not [r for r in python_mirror.server.requests if r.endswith(".tar.gz")]


def test_a_python_version_that_does_not_exist_names_the_newest(world: World, python_mirror: Any) -> None:
    root = world.allowed_project("n", '[packages]\npython = "python:3.9"\n')
    one_error(world.run("lock", cwd=root, extra=listed(python_mirror)), "no version 3.9", "the newest are 3.12.7, ")


def test_uv_python_install_mirror_serves_uvs_own_list(world: World, python_mirror: Any) -> None:
    """Without a downloads list, envr resolves what uv would (uv's own list, its URLs moved to the mirror) and
    takes the sha256 from the release's SHA256SUMS."""
    from envr.store.sources.pypi import uv_bin

    mirror = f"{python_mirror.server.url}/uv-mirror"
    out = subprocess.run(
        [
            uv_bin(),
            "python",
            "list",
            "--all-versions",
            "--only-downloads",
            "--output-format",
            "json",
            "--no-config",
            f"cpython@{minor(python_mirror)}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "UV_PYTHON_INSTALL_MIRROR": mirror},
    ).stdout
    wanted = next(
        x
        for x in json.loads(out)
        if x["os"] == "linux" and x["arch"] == "x86_64" and x["libc"] == "gnu" and x["variant"] == "default"
    )
    rel = wanted["url"][len(mirror) + 1 :]
    python_mirror.server.put(f"uv-mirror/{rel}", python_mirror.tarball)
    from runtime_kit import sha

    release, name = unquote(rel).rsplit("/", 1)
    python_mirror.server.put(f"uv-mirror/{release}/SHA256SUMS", f"{sha(python_mirror.tarball)}  {name}\n".encode())
    root = world.allowed_project("u", f'[packages]\npython = "python:{minor(python_mirror)}"\n')
    env = {"UV_PYTHON_INSTALL_MIRROR": mirror}
    r = world.run("lock", cwd=root, extra=env)
    assert r.returncode == 0, r.stderr
    entry = tomllib.loads((root / "envr.lock").read_text())["packages"]["python"]
    assert entry["version"] == wanted["version"] and entry["linux-x64"]["sha256"] == sha(python_mirror.tarball)
    r = world.run("sync", cwd=root, extra=env)
    assert r.returncode == 0, r.stderr  # the build's minor matches what uv's list says; that is what is checked


def test_a_pypi_tool_is_built_on_the_projects_python(world: World, python_mirror: Any, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    python_wheel(wheels, "pyrt", "1.0", main="import sys; print(sys.base_prefix)")
    uv_world(world, wheels, tmp_path / "uv-cache")
    root = world.allowed_project(
        "t", f'[packages]\npython = "python:{minor(python_mirror)}"\npyrt = "pypi:pyrt==1.0"\n'
    )
    r = world.run("sync", cwd=root, extra=listed(python_mirror))
    assert r.returncode == 0, r.stderr
    python = world.run("store", "path", "python", cwd=root, extra=listed(python_mirror)).stdout.strip()
    tool = world.run("store", "path", "pyrt", cwd=root, extra=listed(python_mirror)).stdout.strip()
    cfg = Path(tool, "venv", "pyvenv.cfg").read_text()
    assert f"home = {python}/python/bin" in cfg
    r = world.run("exec", str(root), "--", "pyrt", cwd=world.tmp, extra=listed(python_mirror))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{python}/python"
    one_error(world.run("store", "rm", python, cwd=world.tmp), "cannot remove", os.path.basename(tool))
    r = world.run("gc", cwd=world.tmp)
    assert r.returncode == 0, r.stderr
    assert os.path.isdir(python) and os.path.isdir(tool)  # the project's generation roots the tool, and so python


def test_a_tool_on_envrs_own_interpreter_is_reported_once_that_is_gone(
    world: World, python_mirror: Any, tmp_path: Path
) -> None:
    """envr running on an interpreter that is later removed (a pyenv uninstall): verify names the tool."""
    import tarfile

    if python_mirror.real.rsplit(".", 1)[0] != f"{sys.version_info[0]}.{sys.version_info[1]}":
        # envr runs there on this suite's own dependencies (some compiled for this interpreter's version);
        # CI's run on Debian's 3.11.2 takes this case
        pytest.skip(f"the build is Python {python_mirror.real}; this suite's dependencies are for another version")

    interp = tmp_path / "interp"
    interp.mkdir()
    archive = tmp_path / "build.tar.gz"
    archive.write_bytes(python_mirror.tarball)
    with tarfile.open(archive) as t:
        t.extractall(interp)  # our own archive, made by runtime_kit
    from envr.store.sources.pypi import uv_bin

    venv = tmp_path / "envr-venv"
    subprocess.run(
        [uv_bin(), "venv", "-q", "--python", str(interp / "python" / "bin" / "python3"), str(venv)],
        check=True,
        capture_output=True,
    )
    site = next((venv / "lib").glob("python3*/site-packages"))
    here = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "typer").is_dir())
    src = Path(__file__).resolve().parents[2] / "src"
    (site / "envr-tests.pth").write_text(f"{src}\n{here}\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    python_wheel(wheels, "pyold", "1.0")
    uv_world(world, wheels, tmp_path / "uv-cache")
    root = world.allowed_project("o", '[packages]\npyold = "pypi:pyold==1.0"\n')
    env = {**world.env, "PWD": str(root)}
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "envr", "sync"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert world.run("store", "verify", cwd=world.tmp).returncode == 0
    import shutil

    shutil.rmtree(interp)
    r = world.run("store", "verify", cwd=world.tmp)
    assert r.returncode == 1
    assert "pyold" in r.stdout + r.stderr and "which is gone" in r.stdout + r.stderr


def test_the_project_venv_is_made_with_the_pinned_python_synced_and_activated(
    world: World, python_mirror: Any, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    python_wheel(wheels, "projdep", "2.0")
    uv_world(world, wheels, tmp_path / "uv-cache")
    root = world.tmp / "v"
    root.mkdir(parents=True)
    (root / "requirements.txt").write_text("projdep==2.0\n")
    world.allowed_project(
        "v",
        f'[packages]\npython = "python:{minor(python_mirror)}"\n'
        '[python]\nvenv = ".venv"\nrequirements = "requirements.txt"\n',
    )
    r = world.run("sync", cwd=root, extra=listed(python_mirror))
    assert r.returncode == 0, r.stderr
    python = world.run("store", "path", "python", cwd=root, extra=listed(python_mirror)).stdout.strip()
    assert f"home = {python}/python/bin" in (root / ".venv" / "pyvenv.cfg").read_text()
    show = "echo $VIRTUAL_ENV; command -v projdep; projdep; command -v python"
    r = world.run("exec", str(root), "--", "sh", "-c", show, cwd=world.tmp, extra=listed(python_mirror))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [
        str(root / ".venv"),
        str(root / ".venv" / "bin" / "projdep"),
        "projdep",
        "2.0",
        str(root / ".venv" / "bin" / "python"),
    ]
    # entering and leaving: the prompt's own [env]/[path] mechanism sets and reverts it
    inside = world.run("export", "json", cwd=root, extra=listed(python_mirror))
    assert inside.returncode == 0, inside.stderr
    change = json.loads(inside.stdout)
    assert change["VIRTUAL_ENV"] == str(root / ".venv")
    assert change["PATH"].split(":")[0] == str(root / ".venv" / "bin")
    env_inside = {k: v for k, v in {**world.env, **change}.items() if v is not None}
    left = subprocess.run(
        [str(Path(sys.executable).parent / "envr"), "export", "json"],
        cwd=world.tmp,
        env={**env_inside, "PWD": str(world.tmp)},
        capture_output=True,
        text=True,
    )
    assert left.returncode == 0, left.stderr
    back = json.loads(left.stdout)
    assert back["VIRTUAL_ENV"] is None and back["PATH"] == world.env["PATH"]
    # a changed requirements file is missing again until synced
    (root / "requirements.txt").write_text("projdep==2.0\n# touched\n")
    r = world.run("status", cwd=root, extra=listed(python_mirror))
    assert "[python] venv" in r.stdout + r.stderr
