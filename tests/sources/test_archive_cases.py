"""url archives through `envr sync`, as a user meets them: every tar compression and zip unpacks on every
Python envr supports (tarfile's filter argument is absent before 3.11.4: Debian 12's 3.11.2 crashed), and no
member, link, hard link or chain of links reaches outside the store path (D1, D2, A5-A7, A10), with limits on
size and member count (D26). Each refusal is one line naming the package, the URL and the member."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sources_helpers import HELLO, M, World, chain, escaping_links, one_error, snapshot, tar_of, url_entry, zip_of

TAR_MODES = {
    ".tar.gz": "w:gz",
    ".tgz": "w:gz",
    ".tar.xz": "w:xz",
    ".txz": "w:xz",
    ".tar.bz2": "w:bz2",
    ".tbz2": "w:bz2",
    ".tbz": "w:bz2",
    ".tar": "w",
}
TOOL = M("bin/hello", data=HELLO, mode=0o755)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def archive(suffix: str, members: list[M]) -> bytes:
    return zip_of(members) if suffix == ".zip" else tar_of(members, TAR_MODES[suffix])


def project_with(world: World, suffix: str, members: list[M], **extra: str) -> tuple[Path, str]:
    data = archive(suffix, members)
    path = world.tmp / "served" / f"tool{suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    url = path.as_uri()
    return world.project("p", url_entry("t", url, data, **extra)), url


def victims(world: World) -> Path:
    v = world.tmp / "victim"
    v.mkdir()
    (v / "secret").write_text("secret\n")
    (v / "secret").chmod(0o600)
    (world.tmp / "home" / ".bashrc").write_text("# mine\n")
    return v


@pytest.mark.parametrize("suffix", [*TAR_MODES, ".zip"])
def test_every_suffix_unpacks_and_exposes_bin(world: World, suffix: str) -> None:
    root, _ = project_with(world, suffix, [M("bin", "dir", mode=0o755), TOOL, M("share/doc", data=b"d")])
    r = world.run("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    r = world.run("exec", str(root), "--", "hello", cwd=root)
    assert r.stdout == "hello from the archive\n", r.stderr


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip", ".tar"])
@pytest.mark.parametrize("length", [5, 13])
def test_a_file_written_through_a_symlink_chain_is_refused(world: World, suffix: str, length: int) -> None:
    v = victims(world)
    before = {d: snapshot(d) for d in (v, world.tmp / "home")}
    last = f"a{length}"
    members = [TOOL, *chain(length), M(f"{last}{v}/secret", data=b"OWNED\n"), M(f"{last}/.bashrc", data=b"OWNED\n")]
    root, url = project_with(world, suffix, members)
    r = world.run("sync", cwd=root)
    one_error(r, "packages.t", url, "'a1'", "escapes the output")
    assert {d: snapshot(d) for d in before} == before
    assert (v / "secret").read_text() == "secret\n" and (world.tmp / "home" / ".bashrc").read_text() == "# mine\n"
    assert world.registered() == []


@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.xz"])
def test_a_hard_link_through_a_chain_leaves_the_outside_file_alone(world: World, suffix: str) -> None:
    v = victims(world)
    for members, member in (
        ([TOOL, *chain(12), M("h", "hardlink", target=f"a12{v}/secret", mode=0o777, uid=4242)], "'a1'"),
        ([TOOL, M("h", "hardlink", target=f"{v}/secret".lstrip("/"), mode=0o777, uid=4242)], "'h'"),
    ):
        root, url = project_with(world, suffix, members)
        one_error(world.run("sync", cwd=root), "packages.t", url, member)
    st = (v / "secret").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_nlink) == (0o600, os.getuid(), 1)


@pytest.mark.parametrize(
    ("case", "members", "member"),
    [
        ("later", [TOOL, M("hl", "hardlink", target="bin/late"), M("bin/late")], "hl"),
        ("symlink", [TOOL, M("s", "symlink", target="bin/hello"), M("hl", "hardlink", target="s")], "hl"),
        ("directory", [TOOL, M("hl", "hardlink", target="bin")], "hl"),
        ("itself", [TOOL, M("hl", "hardlink", target="hl")], "hl"),
        ("through-link", [TOOL, M("sd", "symlink", target="bin"), M("hl", "hardlink", target="sd/hello")], "hl"),
        ("replaced", [TOOL, M("f"), M("f", "symlink", target="bin/hello"), M("hl", "hardlink", target="f")], "hl"),
        ("absolute", [TOOL, M("hl", "hardlink", target="/etc/passwd")], "hl"),
        ("abs-link", [TOOL, M("l", "symlink", target="/etc")], "l"),
        ("up-link", [M("d/l", "symlink", target="../../x")], "d/l"),
        ("dot-up", [M("l", "symlink", target="a/../..")], "l"),
        ("through-file-link", [TOOL, M("sd", "symlink", target="bin"), M("sd/new", data=b"x")], "sd/new"),
        ("dotdot-name", [TOOL, M("../x")], "../x"),
        ("absolute-name", [TOOL, M("/tmp/envr-abs-x")], "/tmp/envr-abs-x"),
    ],
)
def test_hard_links_and_links_are_checked_against_what_is_on_disk(
    world: World, case: str, members: list[M], member: str
) -> None:
    root, url = project_with(world, ".tar.gz", members)
    one_error(world.run("sync", cwd=root), "packages.t", url, repr(member))
    assert world.registered() == []
    assert not Path("/tmp/envr-abs-x").exists()


def test_a_link_made_harmless_then_redirected_by_a_later_link_is_caught_by_the_final_walk(world: World) -> None:
    # x -> m/.. is inside while m is missing; m arrives later as a link to '.', so x ends up at the parent
    members = [TOOL, M("x", "symlink", target="m/.."), M("m", "symlink", target=".")]
    root, url = project_with(world, ".tar.gz", members)
    one_error(world.run("sync", cwd=root), "packages.t", url, "'x'", "escapes the output")


def test_hard_link_to_an_earlier_member_and_inner_links_still_work(world: World) -> None:
    members = [
        TOOL,
        M("bin/hello2", "hardlink", target="bin/hello"),
        M("lib/h", "symlink", target="../bin/hello"),
        M("bin/h3", "symlink", target="../lib/h"),
    ]
    root, _ = project_with(world, ".tar.gz", members)
    assert world.run("sync", cwd=root).returncode == 0
    [path] = world.registered()
    assert Path(path, "bin/hello2").read_bytes() == HELLO
    assert os.stat(Path(path, "bin/hello2")).st_ino == os.stat(Path(path, "bin/hello")).st_ino
    assert sorted(os.listdir(Path(path, ".envr/bin"))) == ["h3", "hello", "hello2"]
    assert escaping_links(Path(path)) == []


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_modes_lose_setuid_setgid_sticky_and_wide_write_and_ownership_is_ours(world: World, suffix: str) -> None:
    members = [
        M("bin", "dir", mode=0o1777),
        M("bin/hello", data=HELLO, mode=0o6777, uid=4242),
        M("share", "dir", mode=0o2777),
        M("share/ww", mode=0o666, uid=4242),
    ]
    root, _ = project_with(world, suffix, members)
    assert world.run("sync", cwd=root).returncode == 0
    [path] = world.registered()
    for p in [Path(path), *Path(path).rglob("*")]:
        st = p.lstat()
        if not p.is_symlink():
            assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | 0o022), (p, oct(st.st_mode))
        assert st.st_uid == os.getuid()


def test_devices_and_fifos_are_refused(world: World) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        ti = tarfile.TarInfo("dev/fifo")
        ti.type = tarfile.FIFOTYPE
        t.addfile(ti)
    data = buf.getvalue()
    path = world.tmp / "f.tar.gz"
    path.write_bytes(data)
    root = world.project("p", url_entry("t", path.as_uri(), data))
    one_error(world.run("sync", cwd=root), "packages.t", "'dev/fifo'", "fifo")


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_the_byte_limit_names_its_setting(world: World, suffix: str) -> None:
    root, url = project_with(world, suffix, [TOOL, *(M(f"share/f{i}", data=bytes(1000)) for i in range(8))])
    r = world.run("sync", cwd=root, extra={"ENVR_MAX_UNPACK_BYTES": "4000"})
    one_error(r, "packages.t", url, "ENVR_MAX_UNPACK_BYTES=4000")
    assert world.registered() == [] and [p for p in world.store.iterdir() if not p.name.startswith(".")] == []
    assert world.run("sync", cwd=root, extra={"ENVR_MAX_UNPACK_BYTES": "100000"}).returncode == 0


def test_a_zip_bomb_is_refused_before_it_is_written(world: World) -> None:
    import zipfile

    path = world.tmp / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        zi = zipfile.ZipInfo("bin/blob", date_time=(2024, 1, 1, 0, 0, 0))
        with z.open(zi, "w", force_zip64=True) as f:
            for _ in range(64):
                f.write(bytes(1 << 20))
    data = path.read_bytes()
    root = world.project("p", url_entry("t", path.as_uri(), data))
    one_error(world.run("sync", cwd=root, extra={"ENVR_MAX_UNPACK_BYTES": str(8 << 20)}), "ENVR_MAX_UNPACK_BYTES")


@pytest.mark.parametrize("suffix", [".tar.bz2", ".zip"])
def test_the_member_limit_names_its_setting(world: World, suffix: str) -> None:
    root, url = project_with(world, suffix, [TOOL, *(M(f"share/f{i}", data=b"") for i in range(30))])
    one_error(world.run("sync", cwd=root, extra={"ENVR_MAX_UNPACK_MEMBERS": "20"}), url, "ENVR_MAX_UNPACK_MEMBERS=20")


def test_a_bad_limit_setting_is_one_line(world: World) -> None:
    root, _ = project_with(world, ".tar.gz", [TOOL])
    one_error(world.run("sync", cwd=root, extra={"ENVR_MAX_UNPACK_BYTES": "lots"}), "ENVR_MAX_UNPACK_BYTES", "'lots'")


def test_a_plain_tar_given_as_tar_gz_is_sniffed(world: World) -> None:
    root, _ = project_with(world, ".tar", [TOOL], unpack='"tar.gz"')
    assert world.run("sync", cwd=root).returncode == 0
