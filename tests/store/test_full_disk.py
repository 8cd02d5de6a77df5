"""A full disk while unpacking into the store: one clear line, nothing half-written left behind."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from store_helpers import HELLO, Server, run_envr, server, tar_bytes

__all__ = ["server"]


@pytest.fixture
def tiny_store(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ENVR_STORE on a 1 MiB tmpfs (needs root and mount, as CI has; skipped elsewhere)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    store = isolated / "tiny-store"
    store.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(store)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    monkeypatch.setenv("ENVR_STORE", str(store))
    try:
        yield store
    finally:
        subprocess.run(["umount", "-l", str(store)], check=False)


def test_a_full_disk_during_unpack_is_one_line_and_leaves_nothing(
    isolated: Path, server: Server, tiny_store: Path
) -> None:
    noise = random.Random(3).randbytes(3 << 20)  # incompressible: 3 MiB cannot fit in 1 MiB
    url, sha = server.put("big.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755), "share/blob": (noise, 0o644)}))
    project = isolated / "proj"
    project.mkdir()
    (project / "envr.toml").write_text(f'[packages]\nbig = {{ url = "{url}", sha256 = "{sha}" }}\n')
    assert run_envr("allow", cwd=project).returncode == 0

    r = run_envr("sync", cwd=project)

    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if not line.startswith("envr: realising")]
    assert len(errors) == 1, r.stderr
    assert "No space left on device" in errors[0] and "big" in errors[0], errors[0]
    assert "Traceback" not in r.stderr
    leftovers = [p.name for p in tiny_store.iterdir() if not p.name.startswith(".") or p.name.startswith(".tmp")]
    assert leftovers == [], leftovers
    assert run_envr("store", "ls", cwd=project).stdout.strip() == ""
