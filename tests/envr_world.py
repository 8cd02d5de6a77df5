"""A fresh HOME, XDG dirs and ENVR_STORE per test, and the installed envr CLI run in it as a user would."""

from __future__ import annotations

import os
from pathlib import Path

from envr_testing import run_envr


def world(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVR_", "XDG_"))}
    for var, sub in (("HOME", "home"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        env[var] = str(tmp / sub)
    env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"), ENVR_STORE=str(tmp / "s"))
    (tmp / "home").mkdir(exist_ok=True)
    return env


def project(tmp: Path, toml: str) -> Path:
    root = tmp / "p"
    root.mkdir(exist_ok=True)
    (root / "envr.toml").write_text(toml)
    return root


def allow_error(tmp: Path, toml: str) -> str:
    """The one line `envr allow` refuses toml with (it must refuse)."""
    root = project(tmp, toml)
    r = run_envr("allow", str(root), cwd=root, env=world(tmp))
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert "internal error" not in r.stderr
    return lines[0]
