"""Archives stay inside their output: D1 (zip writes through a symlink chain; tar keeps escaping links), D2 (a
tar hard link through a chain chmods/chowns an outside file), A5-A7/A10 variants, ownership and modes taken
from the archive, and D26 (no bound on the unpacked size or member count).

Every case runs `envr sync` (or the auto-sync of `envr export json`) on a url entry holding a hand-built
archive. Whatever envr decides (refuse with one line, or accept), nothing outside the store path may change
and no link in the store may resolve outside its store path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import (
    ALL_KINDS,
    OTHER_UID,
    TAR_KINDS,
    TOOL,
    Member,
    Server,
    World,
    archive_project,
    assert_no_internal_error,
    assert_one_line_error,
    assert_store_contained,
    diff_snapshots,
    directory,
    file,
    hardlink,
    registered,
    run_as,
    snapshot,
    store_entries,
    symlink,
    url_package,
)

# How each link of a chain names the one before it. Every spelling normalises lexically to "." (or to the
# link's own directory), yet the K-th link resolves K directories above the output on disk.
SPELLINGS: dict[str, Callable[[str], str]] = {
    "up": lambda prev: f"{prev}/..",
    "dot-up": lambda prev: f"./{prev}/..",
    "up-dot": lambda prev: f"{prev}/../.",
    "double-slash": lambda prev: f"{prev}//..",
    "mid-dot": lambda prev: f"{prev}/./..",
    "trailing-slash": lambda prev: f"{prev}/../",
}
# Chain lengths: all reach / from wherever envr unpacks (.. at / stays /), the longest by far.
LENGTHS = (9, 14, 31)


def chain(length: int, spelling: str = "up", prefix: str = "a", start: str = ".") -> tuple[list[Member], str]:
    """Links prefix0 -> start, prefixK -> prefix(K-1)/.. (in the given spelling); returns them and the last name."""
    spell = SPELLINGS[spelling]
    links = [symlink(f"{prefix}0", start)]
    for k in range(1, length + 1):
        links.append(symlink(f"{prefix}{k}", spell(f"{prefix}{k - 1}")))
    return links, f"{prefix}{length}"


def subdir_chain(length: int) -> tuple[list[Member], str]:
    """A chain living in d/, each link going out of d and back in: d/aK -> ../d/a(K-1)/.."""
    links = [directory("d"), symlink("d/a0", ".")]
    for k in range(1, length + 1):
        links.append(symlink(f"d/a{k}", f"../d/a{k - 1}/.."))
    return links, f"d/a{length}"


def victim_tree(world: World) -> Path:
    """A sibling of the store holding files an archive must never reach."""
    v = world.tmp / "victim"
    v.mkdir(exist_ok=True)
    (v / "secret").write_text("secret\n")
    (v / "secret").chmod(0o600)
    (v / "notes.txt").write_text("precious\n")
    (world.home / ".bashrc").write_text("# my bashrc\n")
    return v


def rel_from_root(path: Path) -> str:
    return str(path).lstrip("/")


def sync_and_check(world: World, project: Path, watched: list[Path], *, expect_refusal: bool = False) -> None:
    """envr sync; then the invariants: watched trees unchanged, store contained, refusal is one clean line."""
    before = {str(w): snapshot(w) for w in watched}
    r = world.envr("sync", cwd=project)
    assert_no_internal_error(r)
    for w in watched:
        assert diff_snapshots(before[str(w)], snapshot(w)) == [], f"{w} changed: {r.stderr}"
    assert_store_contained(world.store)
    if r.returncode != 0 or expect_refusal:
        assert_one_line_error(r)
        assert registered(world) == [], "a refused archive must register nothing"


# --- D1 / A10: a file written through a chain ---------------------------------------------------------------


def spread(spellings: list[str], per_kind: int) -> list[tuple[str, str]]:
    """(kind, spelling) pairs: zip (the kind that wrote through chains) with every spelling, each tar kind with
    per_kind of them, rotating, so every spelling meets several kinds without the full product's cost."""
    pairs = [("zip", s) for s in spellings]
    for i, kind in enumerate(k for k in ALL_KINDS if k != "zip"):
        pairs += [(kind, spellings[(i * per_kind + j) % len(spellings)]) for j in range(per_kind)]
    return pairs


WRITE_SPELLINGS = [*SPELLINGS, "subdir"]


@pytest.mark.parametrize(("kind", "spelling"), spread(WRITE_SPELLINGS, 2))
def test_a_symlink_chain_cannot_write_a_file_outside_the_store(world: World, kind: str, spelling: str) -> None:
    victim = victim_tree(world)
    length = LENGTHS[(len(kind) + len(spelling)) % len(LENGTHS)]
    links, last = subdir_chain(length) if spelling == "subdir" else chain(length, spelling)
    members = [
        directory("bin"),
        TOOL,
        *links,
        file(f"{last}/{rel_from_root(victim / 'notes.txt')}", b"OWNED BY THE ARCHIVE\n"),
        file(f"{last}/{rel_from_root(victim / 'planted')}", b"planted\n"),
        file(f"{last}/{rel_from_root(world.home / '.bashrc')}", b"echo OWNED\n"),
    ]
    project = archive_project(world, kind, members)
    world.allow(project)

    sync_and_check(world, project, [victim, world.home], expect_refusal=True)
    assert not (victim / "planted").exists()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_symlink_chain_served_over_http_cannot_write_outside_the_store(
    world: World, server: Server, kind: str
) -> None:
    victim = victim_tree(world)
    links, last = chain(12, "up")
    members = [TOOL, *links, file(f"{last}/{rel_from_root(victim / 'notes.txt')}", b"OWNED\n")]
    project = archive_project(world, kind, members, server=server)
    world.allow(project)

    sync_and_check(world, project, [victim, world.home], expect_refusal=True)


def default_layout(world: World) -> dict[str, str]:
    """The README's default layout: no ENVR_STORE, data under ~/.local/share (so the store is 5 hops below ~)."""
    env = dict(world.env)
    env.pop("ENVR_STORE")
    env["XDG_DATA_HOME"] = str(world.home / ".local" / "share")
    return env


def bashrc_zip(world: World, hops: int) -> Path:
    members = [directory("bin"), TOOL, *chain(hops, "up")[0], file(f"a{hops}/.bashrc", b"echo OWNED-BY-ARCHIVE\n")]
    return archive_project(world, "zip", members)


@pytest.mark.parametrize("hops", [4, 5, 6])
def test_a_zip_chain_cannot_overwrite_bashrc_in_the_default_layout(world: World, hops: int) -> None:
    """D1's own script: five hops from the default store's work dir reach $HOME without knowing its path."""
    victim_tree(world)
    world.env = default_layout(world)
    project = bashrc_zip(world, hops)
    world.allow(project)
    home_before = snapshot(world.home / ".bashrc")

    r = world.envr("sync", cwd=project)

    assert_no_internal_error(r)
    assert (world.home / ".bashrc").read_text() == "# my bashrc\n"
    assert diff_snapshots(home_before, snapshot(world.home / ".bashrc")) == []
    planted = [p for p in world.tmp.rglob(".bashrc") if p != world.home / ".bashrc"]
    assert planted == [], "a mis-counted chain planted a .bashrc elsewhere"
    assert_store_contained(world.home / ".local" / "share" / "envr" / "store")


def test_a_zip_chain_cannot_write_outside_during_the_auto_sync_of_entering(world: World) -> None:
    """The same archive met by the prompt's core (`envr export json` auto-syncs on entering)."""
    victim_tree(world)
    world.env = default_layout(world)
    project = bashrc_zip(world, 5)
    world.allow(project)

    r = world.envr("export", "json", cwd=project)

    assert_no_internal_error(r)
    assert (world.home / ".bashrc").read_text() == "# my bashrc\n"
    assert_store_contained(world.home / ".local" / "share" / "envr" / "store")


# --- D1 / A6: the chain alone -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "spelling"), spread(["up", "up-dot", "dot-up", "subdir"], 1))
def test_a_symlink_chain_alone_leaves_no_link_out_of_the_store(world: World, kind: str, spelling: str) -> None:
    """Links leaving the output are refused: a store path must not hold links resolving to / or the store."""
    victim = victim_tree(world)
    links, _last = subdir_chain(12) if spelling == "subdir" else chain(12, spelling)
    project = archive_project(world, kind, [directory("bin"), TOOL, *links])
    world.allow(project)

    sync_and_check(world, project, [victim, world.home])


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_short_chain_to_the_store_directory_itself_is_not_kept(world: World, kind: str) -> None:
    """One hop is enough to point at the store directory (other packages, the registry) from inside."""
    victim = victim_tree(world)
    project = archive_project(world, kind, [TOOL, symlink("a0", "."), symlink("a1", "a0/.."), symlink("s", "a1")])
    world.allow(project)

    sync_and_check(world, project, [victim, world.home])


# --- D2 / A7: hard links ------------------------------------------------------------------------------------


def outside_victim(world: World, owner: int = 0) -> Path:
    v = world.tmp / "victim"
    v.mkdir(exist_ok=True)
    key = v / "id_key"
    key.write_text("-----BEGIN KEY-----\nsecret\n")
    key.chmod(0o600)
    os.chown(key, owner, owner)
    return key


@pytest.mark.parametrize("length", [12, 20])
@pytest.mark.parametrize("kind", list(TAR_KINDS))
def test_a_tar_hard_link_through_a_chain_leaves_the_outside_file_alone(world: World, kind: str, length: int) -> None:
    key = outside_victim(world)
    links, last = chain(length, "up" if length == 12 else "up-dot")
    members = [TOOL, *links, hardlink("h", f"{last}{key}", mode=0o777, uid=4242, gid=4242)]
    project = archive_project(world, kind, members)
    world.allow(project)
    before = snapshot(key.parent)

    sync_and_check(world, project, [key.parent, world.home])

    st = key.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink) == (0o600, 0, 0, 1)
    assert diff_snapshots(before, snapshot(key.parent)) == []
    inode = (st.st_dev, st.st_ino)
    for sp in store_entries(world.store):
        for p in sp.rglob("*"):
            if not p.is_symlink() and p.is_file():
                assert (p.stat().st_dev, p.stat().st_ino) != inode, f"{p} is the outside file"


@pytest.mark.parametrize("kind", ["tar.gz", "tar.xz"])
def test_a_tar_hard_link_through_a_chain_cannot_widen_a_users_private_file(user_world: World, kind: str) -> None:
    """As a user (protected_hardlinks allows linking one's own files): a 0600 key must stay unreadable to others."""
    world = user_world
    key = outside_victim(world, owner=world.uid or 0)
    links, last = chain(14, "up")
    project = archive_project(world, kind, [TOOL, *links, hardlink("h", f"{last}{key}", mode=0o755)])
    world.allow(project)

    r = world.envr("sync", cwd=project)

    assert_no_internal_error(r)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_nlink == 1
    other = run_as(OTHER_UID, ["cat", str(key)])
    assert other.returncode != 0 and "secret" not in other.stdout
    assert_store_contained(world.store)


HL = "hl-member"
HARDLINK_CASES = {
    "to-a-later-member": [TOOL, hardlink(HL, "bin/late"), file("bin/late", b"late\n")],
    "to-a-symlink-member": [TOOL, symlink("s", "bin/tool"), hardlink(HL, "s")],
    "to-a-directory": [directory("bin"), TOOL, hardlink(HL, "bin")],
    "to-itself": [TOOL, hardlink(HL, HL)],
    "to-a-missing-member": [TOOL, hardlink(HL, "no/such/member")],
    "through-a-symlinked-dir": [TOOL, symlink("sd", "bin"), hardlink(HL, "sd/tool")],
}


@pytest.mark.parametrize("case", list(HARDLINK_CASES))
def test_a_hard_link_must_name_an_earlier_regular_member(world: World, case: str) -> None:
    victim = victim_tree(world)
    project = archive_project(world, "tar.gz", HARDLINK_CASES[case])
    world.allow(project)

    before = snapshot(victim)

    r = world.envr("sync", cwd=project)

    line = assert_one_line_error(r)
    assert "hl-member" in line, line
    assert registered(world) == []
    assert diff_snapshots(before, snapshot(victim)) == []
    assert_store_contained(world.store)


def test_a_hard_link_to_an_earlier_regular_member_still_works(world: World) -> None:
    """The legitimate use (the refusals above must not take it away)."""
    project = archive_project(world, "tar.gz", [TOOL, hardlink("bin/tool2", "bin/tool")])
    world.allow(project)

    r = world.envr("sync", cwd=project)

    assert r.returncode == 0, r.stderr
    [sp] = store_entries(world.store)
    assert (sp / "bin" / "tool2").read_bytes() == TOOL.data


# --- ownership and modes ------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can take ownership from an archive")
@pytest.mark.parametrize("kind", list(TAR_KINDS))
def test_ownership_is_never_taken_from_the_archive(world: World, kind: str) -> None:
    members = [
        directory("bin"),
        file("bin/tool", b"#!/bin/sh\necho ok\n", 0o755, uid=4242, gid=4242),
        directory("share"),
        file("share/data", b"d\n", 0o644, uid=0, gid=4343),
        Member("share/owned-dir", "dir", mode=0o755, uid=4242, gid=4242),
    ]
    project = archive_project(world, kind, members)
    world.allow(project)

    r = world.envr("sync", cwd=project)

    assert r.returncode == 0, r.stderr
    [sp] = store_entries(world.store)
    owners = {str(p.relative_to(sp)): (p.lstat().st_uid, p.lstat().st_gid) for p in [sp, *sp.rglob("*")]}
    me = (os.getuid(), os.getgid())
    assert {k: v for k, v in owners.items() if v != me} == {}


@pytest.mark.parametrize("kind", list(ALL_KINDS))
def test_no_setuid_setgid_sticky_or_writable_modes_reach_the_store(world: World, kind: str) -> None:
    members = [
        Member("bin", "dir", mode=0o1777),
        file("bin/tool", b"#!/bin/sh\necho ok\n", 0o6777),
        file("bin/suid", b"x", 0o4755),
        file("bin/sgid", b"x", 0o2775),
        Member("share", "dir", mode=0o2777),
        file("share/ww", b"x", 0o666),
    ]
    project = archive_project(world, kind, members)
    world.allow(project)

    r = world.envr("sync", cwd=project)

    assert r.returncode == 0, r.stderr
    [sp] = store_entries(world.store)
    bad = {}
    for p in [sp, *sp.rglob("*")]:
        mode = p.lstat().st_mode
        if p.is_symlink():
            continue
        if mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH | stat.S_IWGRP):
            bad[str(p.relative_to(sp))] = oct(stat.S_IMODE(mode))
    assert bad == {}


# --- D26: bounds on what an archive expands to --------------------------------------------------------------


def big_zip(path: Path, total: int) -> None:
    """A zip of one member of `total` zero bytes, streamed (never `total` bytes in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        zi = zipfile.ZipInfo("bin/blob", date_time=(2024, 1, 1, 0, 0, 0))
        zi.create_system = 3
        zi.external_attr = (stat.S_IFREG | 0o644) << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(1 << 20)
        with z.open(zi, "w", force_zip64=True) as f:
            for _ in range(total >> 20):
                f.write(chunk)


def names_limit(line: str, setting: str, value: int) -> bool:
    return setting in line or str(value) in line or f"{value:,}" in line or f"{value >> 20} MiB" in line


@contextlib.contextmanager
def removed_afterwards(store: Path) -> Iterator[None]:
    """Big test data must not outlive the test (read-only store trees need a chmod first)."""
    try:
        yield
    finally:
        for dirpath, _dirs, _files in os.walk(store):
            with contextlib.suppress(OSError):
                os.chmod(dirpath, 0o755)
        shutil.rmtree(store, ignore_errors=True)


def test_a_400kb_zip_expanding_past_the_byte_limit_is_refused(world: World) -> None:
    archive = world.tmp / "bomb.zip"
    big_zip(archive, 400 << 20)
    assert archive.stat().st_size < 1 << 20  # ~400 KB on disk
    data = archive.read_bytes()
    limit = 64 << 20
    project = world.project("p", "[packages]\n" + url_package("t", archive.as_uri(), data, bin='["bin/*"]'))
    world.allow(project)

    with removed_afterwards(world.store):
        r = world.envr("sync", cwd=project, extra_env={"ENVR_MAX_UNPACK_BYTES": str(limit)}, timeout=120)

        line = assert_one_line_error(r)
        assert names_limit(line, "ENVR_MAX_UNPACK_BYTES", limit), line
        assert registered(world) == []
        used = sum(f.stat().st_size for f in world.store.rglob("*") if f.is_file() and not f.is_symlink())
        assert used < limit, f"{used} bytes left in the store after a refusal"


@pytest.mark.parametrize("kind", ["tar.gz", "tar.xz", "zip"])
def test_a_small_archive_above_a_small_byte_limit_is_refused(world: World, kind: str) -> None:
    members = [TOOL, *(file(f"share/f{i}", bytes(1000)) for i in range(8))]  # ~8 KB unpacked
    project = archive_project(world, kind, members)
    world.allow(project)

    r = world.envr("sync", cwd=project, extra_env={"ENVR_MAX_UNPACK_BYTES": "4000"})

    line = assert_one_line_error(r)
    assert names_limit(line, "ENVR_MAX_UNPACK_BYTES", 4000), line
    assert registered(world) == []


@pytest.mark.parametrize("kind", ["tar.bz2", "zip"])
def test_an_archive_above_the_member_limit_is_refused(world: World, kind: str) -> None:
    members = [TOOL, *(file(f"share/f{i}", b"") for i in range(60))]
    project = archive_project(world, kind, members)
    world.allow(project)

    r = world.envr("sync", cwd=project, extra_env={"ENVR_MAX_UNPACK_MEMBERS": "20"})

    line = assert_one_line_error(r)
    assert names_limit(line, "ENVR_MAX_UNPACK_MEMBERS", 20), line
    assert registered(world) == []


def test_an_archive_within_the_limits_still_unpacks(world: World) -> None:
    project = archive_project(world, "tar.gz", [TOOL, file("share/f", bytes(1000))])
    world.allow(project)

    r = world.envr("sync", cwd=project, extra_env={"ENVR_MAX_UNPACK_BYTES": "100000", "ENVR_MAX_UNPACK_MEMBERS": "10"})

    assert r.returncode == 0, r.stderr
    assert len(registered(world)) == 1


def test_a_refused_archive_leaves_the_rest_of_the_project_loading(world: World) -> None:
    """A bad archive is one package's problem: entering still applies [env]."""
    links, last = chain(12)
    project = archive_project(world, "zip", [TOOL, *links, file(f"{last}/x", b"x")], env_section='[env]\nX = "1"\n\n')
    world.allow(project)

    changes, _stderr = world.export_json(project)

    assert changes.get("X") == "1"
    assert_store_contained(world.store)
