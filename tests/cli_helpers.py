"""Helpers for the day-one commands' tests: the installed envr run as a user runs it, an offline package index
of hand-made wheels, and a snapshot of every file under a directory (to prove a command wrote nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wheelmaker import make_wheel

ENVR = str(Path(sys.executable).parent / "envr")
BIN = str(Path(sys.executable).parent)


def run_envr(
    *args: str, cwd: Path | str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ if env is None else env)
    full["PWD"] = str(cwd)
    return subprocess.run([ENVR, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def wheelhouse(d: Path) -> Path:
    """daytool 1.0 (console script daytool) needing daydep>=1; daydep 1.0."""
    d.mkdir(parents=True, exist_ok=True)
    make_wheel(
        d,
        "daytool",
        "1.0",
        {"daytool.py": "def main():\n    print('daytool')\n"},
        "[console_scripts]\ndaytool = daytool:main\n",
        requires=("daydep>=1",),
    )
    make_wheel(d, "daydep", "1.0", {"daydep.py": "VERSION = '1.0'\n"})
    return d


def offline_env(wheels: Path, tmp: Path) -> dict[str, str]:
    """os.environ with uv pointed at the local wheels only (no index, no network) and npm at nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "ENVR_SHELL"))}
    env.update(
        UV_FIND_LINKS=str(wheels),
        UV_NO_INDEX="1",
        UV_CACHE_DIR=str(tmp / "uv-cache"),
        npm_config_cache=str(tmp / "npm-cache"),
        npm_config_registry="http://127.0.0.1:9/",
    )
    return env


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every path under root with its mode, mtime and (for files) content: equal snapshots, nothing written."""
    out: dict[str, tuple[int, int, bytes]] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
        out[str(p.relative_to(root))] = (st.st_mode, st.st_mtime_ns, data)
    return out


def project(root: Path, text: str) -> Path:
    """root/envr.toml with text, and a ./tools directory holding one executable (for `path` packages)."""
    (root / "tools" / "bin").mkdir(parents=True, exist_ok=True)
    tool = root / "tools" / "bin" / "mytool"
    tool.write_text("#!/bin/sh\necho mytool\n")
    tool.chmod(0o755)
    (root / "envr.toml").write_text(text)
    return root
