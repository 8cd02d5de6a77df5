"""Property test of envr's extractor (D1, D2, A5-A7, A10): random sequences of directories, files, symlinks
(absolute, through `..`, `a/..`, `a/../.`, chains `a0 -> .`, `aK -> a(K-1)/..` of any length, links to
earlier links), files written through earlier links, and hard links (to regular members, to links, to
outside paths, through links), as tar (every compression) and as zip.

Whatever the archive, unpacking either refuses with one line naming the package, the URL and a member, or
succeeds; in both cases nothing outside the output changed (a snapshot of a victim tree beside it and above
it), no symlink in the output resolves outside it (when accepted), no file in it is an outside file's inode, and no mode in it
has setuid, setgid, sticky or world write. The extractor runs in-process here so that hundreds of archives
are tried; tests/sources/test_archive_cases.py drives the same code through `envr sync`."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envr.errors import EnvrError
from envr.store.sources._archive import unpack
from sources_helpers import M, escaping_links, snapshot, tar_of, zip_of

WHAT = "packages.t (https://example.org/t.tgz)"
NAMES = st.lists(st.sampled_from(["a", "b", "bin", "x", "a0", ".", "k1_3"]), min_size=1, max_size=3).map("/".join)
UPS = st.integers(1, 6).map(lambda n: "/".join([".."] * n))
SPELL: dict[str, Callable[[str], str]] = {
    "up": lambda p: f"{p}/..",
    "up-dot": lambda p: f"{p}/../.",
    "dot-up": lambda p: f"./{p}/..",
    "slashes": lambda p: f"{p}//../",
}


@st.composite
def archives(draw: st.DrawFn, hardlinks: bool) -> list[M]:
    members: list[M] = [M("bin/tool", data=b"#!/bin/sh\n", mode=0o755)]
    links: list[str] = []
    regular = ["bin/tool"]
    outside_abs = ["/", "/etc", "VICTIM", "VICTIM/secret", "VICTIM/new"]
    outside_rel = ["victim/secret", "../victim/secret", "secret", "planted", ".bashrc"]
    ops = ["dir", "file", "symlink", "chain", "through", *(["hardlink"] * hardlinks)]
    for i in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(ops))
        name = draw(NAMES)
        if op == "dir":
            members.append(M(name, "dir", mode=draw(st.sampled_from([0o755, 0o700, 0o1777, 0o2775]))))
        elif op == "file":
            members.append(M(name, data=b"f%d\n" % i, mode=draw(st.sampled_from([0o644, 0o6755, 0o666, 0o000]))))
            regular.append(name)
        elif op == "symlink":
            target = draw(
                st.one_of(
                    st.sampled_from(outside_abs),
                    UPS,
                    NAMES,
                    UPS.map(lambda u: f"{u}/victim"),
                    st.sampled_from(["a/..", "a/../.", "./a/..", "a/../..", "bin/../..", ".", "a//.."]),
                    (st.sampled_from(links) if links else NAMES).map(lambda t: f"{t}/.."),
                )
            )
            members.append(M(name, "symlink", target=target))
            links.append(name)
        elif op == "chain":
            prefix, spell = f"k{i}_", SPELL[draw(st.sampled_from(sorted(SPELL)))]
            length = draw(st.integers(1, 14))
            members.append(M(f"{prefix}0", "symlink", target=draw(st.sampled_from([".", "bin", "a"]))))
            members += [M(f"{prefix}{k}", "symlink", target=spell(f"{prefix}{k - 1}")) for k in range(1, length + 1)]
            links += [f"{prefix}{k}" for k in range(length + 1)]
        elif op == "through" and links:
            members.append(M(f"{draw(st.sampled_from(links))}/{draw(st.sampled_from(outside_rel))}", data=b"OWNED\n"))
        elif op == "hardlink":
            target = draw(
                st.one_of(
                    st.sampled_from(regular),
                    st.sampled_from(links or ["bin"]),
                    st.sampled_from(["VICTIM/secret", "victim/secret", "../victim/secret"]),
                    (st.sampled_from(links) if links else NAMES).map(lambda t: f"{t}/victim/secret"),
                )
            )
            members.append(M(name, "hardlink", target=target, mode=0o777, uid=4242))
    return members


def _place(members: list[M], victim: Path) -> list[M]:
    """Substitute the victim's real path (absolute targets are written as VICTIM in the strategy)."""
    out = []
    for m in members:
        target = m.target.replace("VICTIM", str(victim))
        if m.kind == "hardlink":
            target = target.lstrip("/")
        out.append(M(m.name.replace("VICTIM", str(victim)), m.kind, m.data, target, m.mode, m.uid))
    return out


def check(members: list[M], kind: str) -> None:
    top = Path(tempfile.mkdtemp(prefix="envr-prop-"))
    try:
        victim = top / "victim"
        victim.mkdir()
        (victim / "secret").write_text("secret\n")
        (top / ".bashrc").write_text("# mine\n")
        out = top / "store" / "out"
        out.mkdir(parents=True)
        placed = _place(members, victim)
        data = zip_of([m for m in placed if m.kind != "hardlink"]) if kind == "zip" else tar_of(placed, kind)
        (top / "archive").write_bytes(data)
        before = snapshot(top, skip=out)
        inodes = {(p.stat().st_dev, p.stat().st_ino) for p in victim.rglob("*") if p.is_file()}
        try:
            unpack(str(top / "archive"), "zip" if kind == "zip" else "tar.gz", str(out), WHAT, {})
            refused = False
        except EnvrError as e:
            message = str(e)
            assert "\n" not in message and message.startswith(WHAT + ": "), message
            assert "member " in message or "cannot unpack" in message, message
            refused = True  # the store discards the output then; what it held must still not have reached out
        assert snapshot(top, skip=out) == before, "something outside the output changed"
        if not refused:
            assert escaping_links(out) == []
        for p in out.rglob("*"):
            if p.is_symlink():
                continue
            st_ = p.lstat()
            assert (st_.st_dev, st_.st_ino) not in inodes, f"{p} is an outside file"
            assert not st_.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH), (p, oct(st_.st_mode))
            assert st_.st_uid == os.getuid()
    finally:
        for dirpath, _dirs, _files in os.walk(top):
            os.chmod(dirpath, 0o755)
        shutil.rmtree(top)


COMMON = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(members=archives(hardlinks=True), kind=st.sampled_from(["w", "w:gz", "w:xz", "w:bz2"]))
def test_random_tar_archives_stay_inside_their_output(members: list[M], kind: str) -> None:
    check(members, kind)


@COMMON
@given(members=archives(hardlinks=False))
@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_random_zip_archives_stay_inside_their_output(members: list[M]) -> None:
    check(members, "zip")
