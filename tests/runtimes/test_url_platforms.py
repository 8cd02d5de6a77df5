"""url packages with a row per platform: this machine's row realises, the lock keeps the table."""

from __future__ import annotations

import tomllib

from envr.store.sources._runtime import current_platform
from sources_helpers import HELLO, World, one_error, serve, sha256


def test_this_platforms_row_realises_and_the_lock_keeps_every_row(world: World) -> None:
    here = current_platform()
    other = "darwin-arm64" if here != "darwin-arm64" else "linux-x64"
    with serve() as server:
        mine = server.put("hello-here", HELLO)
        theirs = server.put("hello-there", b"#!/bin/sh\necho not this one\n")
        root = world.tmp / "p"
        root.mkdir(parents=True)
        (root / "envr.toml").write_text(
            f'platforms = ["{here}", "{other}"]\n[packages]\n'
            f'hello = {{ url = {{ {here} = "{mine}", {other} = "{theirs}" }}, '
            f'sha256 = {{ {here} = "{sha256(HELLO)}", {other} = "{"0" * 64}" }} }}\n'
        )
        assert world.run("allow", cwd=root).returncode == 0
        r = world.run("lock", cwd=root)
        assert r.returncode == 0, r.stderr
        locked = tomllib.loads((root / "envr.lock").read_text())["packages"]["hello"]
        assert locked["sha256"] == {here: sha256(HELLO), other: "0" * 64}
        r = world.run("exec", str(root), "--", "hello", cwd=world.tmp)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "hello from the archive"
        assert "/hello-there" not in server.requests
        (root / "envr.toml").write_text(
            f'[packages]\nhello = {{ url = {{ {other} = "{theirs}" }}, sha256 = {{ {other} = "{"0" * 64}" }} }}\n'
        )
        assert world.run("allow", cwd=root).returncode == 0
        (root / "envr.lock").unlink()
        one_error(world.run("store", "path", "hello", cwd=root), f"no url for this platform, {here}", other)
