"""The test kit's plain parts: run the installed envr as a user would, hand-made wheels and `npm pack`
tarballs (no network), an offline environment for uv and npm, git with a fixed identity.
Real shells are in shellkit.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wheelmaker import make_wheel

ENVR = str(Path(sys.executable).parent / "envr")


def run_envr(
    *args: str, cwd: Path | str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the installed envr console script as a user would, with PWD matching cwd."""
    full = dict(os.environ if env is None else env)
    full["PWD"] = str(cwd)
    return subprocess.run([ENVR, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def isolated_env(tmp: Path) -> dict[str, str]:
    """os.environ without envr's, XDG's and pytest's variables, and HOME, the XDG dirs, ENVR_STORE and TMPDIR
    under tmp (HOME and TMPDIR created): one user's fresh world."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVR_", "XDG_", "PYTEST_", "_envr"))}
    env.update(
        HOME=str(tmp / "home"),
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CONFIG_HOME=str(tmp / "config"),
        ENVR_STORE=str(tmp / "store"),
        TMPDIR=str(tmp / "tmp"),
    )
    for key in ("HOME", "TMPDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="node and npm are not installed"
)


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """git with a fixed identity and envr's bin dir first on PATH (hooks run `envr`)."""
    env = {
        **os.environ,
        "PATH": f"{Path(ENVR).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def make_wheelhouse(d: Path) -> Path:
    """lockdemo 1.0 (console script lockdemo) needing lockdep>=1; lockdep 1.0 and 1.1; lockother 2.0."""
    d.mkdir(parents=True, exist_ok=True)
    make_wheel(
        d,
        "lockdemo",
        "1.0",
        {"lockdemo.py": "def main():\n    import lockdep\n    print('lockdemo', lockdep.VERSION)\n"},
        "[console_scripts]\nlockdemo = lockdemo:main\n",
        requires=("lockdep>=1",),
    )
    make_wheel(d, "lockdep", "1.0", {"lockdep.py": "VERSION = '1.0'\n"})
    make_wheel(d, "lockdep", "1.1", {"lockdep.py": "VERSION = '1.1'\n"})
    make_wheel(
        d,
        "lockother",
        "2.0",
        {"lockother.py": "def main():\n    print('other')\n"},
        "[console_scripts]\nlockother = lockother:main\n",
    )
    return d


def make_npm_tarball(dest: Path, cache: Path) -> Path:
    """`npm pack` of a one-bin package, written to dest/lock-npm-demo-1.0.0.tgz."""
    src = dest.parent / "npm-src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "package.json").write_text(
        json.dumps({"name": "lock-npm-demo", "version": "1.0.0", "bin": {"lock-npm-demo": "cli.js"}, "license": "MIT"})
    )
    (src / "cli.js").write_text("#!/usr/bin/env node\nconsole.log('hello from npm');\n")
    (src / "cli.js").chmod(0o755)
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "pack", "--pack-destination", str(dest), str(src)],
        check=True,
        capture_output=True,
        env={**os.environ, "npm_config_cache": str(cache)},
        timeout=120,
    )
    return dest / "lock-npm-demo-1.0.0.tgz"


def offline_env(wheelhouse: Path, tmp: Path, **extra: str) -> dict[str, str]:
    """os.environ with uv pointed at the local wheelhouse only and npm at an unreachable registry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(
        UV_FIND_LINKS=str(wheelhouse),
        UV_NO_INDEX="1",
        UV_CACHE_DIR=str(tmp / "uv-cache"),
        npm_config_cache=str(tmp / "npm-cache"),
        npm_config_registry="http://127.0.0.1:9/",
    )
    env.update(extra)
    return env
