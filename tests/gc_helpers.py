"""Helpers for generation, profile and gc tests: running envr, hermetic path packages, synthetic store paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envr.store import registry
from envr.store.tree import make_read_only

ENVR = str(Path(sys.executable).parent / "envr")


def run_envr(*args: str, cwd: Path | str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PWD"] = str(cwd)
    return subprocess.run([ENVR, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def ok(*args: str, cwd: Path | str) -> subprocess.CompletedProcess[str]:
    r = run_envr(*args, cwd=cwd)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def tool_dir(where: Path, name: str, version: str) -> Path:
    """A directory holding one executable `name` that prints `name <version>`."""
    where.mkdir(parents=True, exist_ok=True)
    exe = where / name
    exe.write_text(f"#!/bin/sh\necho {name} {version}\n")
    exe.chmod(0o755)
    return where


def write_project(root: Path, version: str, extra: str = "", allow: bool = True) -> Path:
    """A project with one `path` package, tool, whose script prints `tool <version>`."""
    tool_dir(root / "tool", "tool", version)
    (root / "envr.toml").write_text(
        f'version = 1\n{extra}\n[packages]\ntool = {{ path = "./tool", bin = ["tool"], version = "{version}" }}\n'
    )
    if allow:
        ok("allow", cwd=root)
    return root


def fake_path(store: Path, name: str, refs: tuple[str, ...] = (), files: int = 1, size: int = 100) -> str:
    """A registered, read-only store path made directly (no source), referencing refs."""
    registry.ensure(str(store))  # as realise does: the registry exists before any store path
    path = store / f"{os.urandom(16).hex()}-{name}-1"
    (path / "bin").mkdir(parents=True)
    for i in range(files):
        (path / "bin" / f"f{i}").write_bytes(b"x" * size)
    from envr.store.hashing import tree_hash

    digest, total = tree_hash(str(path))
    make_read_only(str(path))
    registry.register(str(store), str(path), {"fake": name}, total, digest, refs)
    return str(path)


def store_names(store: Path) -> set[str]:
    return {n for n in os.listdir(store) if not n.startswith(".")} if store.exists() else set()


def fake_paths(store: Path, count: int, files: int = 1) -> list[str]:
    """count registered, unreferenced store paths, written in one registry transaction."""
    import json
    import time

    from envr.store import valid_marker
    from envr.store.hashing import tree_hash

    registry.ensure(str(store))
    rows = []
    for i in range(count):
        path = store / f"{os.urandom(16).hex()}-bulk{i}-1"
        (path / "bin").mkdir(parents=True)
        for j in range(files):
            (path / "bin" / f"f{j}").write_bytes(b"y" * 100)
        digest, total = tree_hash(str(path))
        make_read_only(str(path))
        rows.append((str(path), json.dumps({"fake": i}), total, digest, time.time()))
    with registry._connect(str(store)) as db, db:
        db.executemany("INSERT INTO paths VALUES (?, ?, ?, ?, ?)", rows)
    for row in rows:
        marker = valid_marker(row[0])
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "a").close()
    return [r[0] for r in rows]
