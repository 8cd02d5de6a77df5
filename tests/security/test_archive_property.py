"""Property test for archives (D1, D2, A5-A7, A10): random sequences of directories, files, symlinks (absolute,
relative, through `..`, `a/..`, `a/../.`, chains of any length), files written through earlier links, and hard
links, as tar and as zip, realised through `envr sync` of a file:// url entry.

Either envr refuses (non-zero, one error line, nothing new registered) or accepts; in both cases nothing
outside the store path changes (a victim tree beside the store, and $HOME) and no symlink in the store resolves
outside its store path.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .helpers import (
    TOOL,
    Member,
    World,
    archive_project,
    assert_no_internal_error,
    assert_store_contained,
    diff_snapshots,
    directory,
    error_lines,
    file,
    hardlink,
    registered,
    snapshot,
    symlink,
)
from .test_archives import SPELLINGS, chain, victim_tree

COMPONENT = st.sampled_from(["a", "b", "c", "bin", "x", "a0", "."])
RELATIVE = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join)
UPS = st.integers(1, 12).map(lambda n: "/".join([".."] * n))


@st.composite
def archive_members(draw: st.DrawFn, victim: Path, home: Path, hardlinks: bool) -> list[Member]:
    """A random archive: the members in order (tar keeps duplicates and order; so does zip)."""
    outside_abs = [str(victim), str(victim / "secret"), str(victim / "new-file"), str(home), "/", "/etc"]
    outside_rel = [str(victim / "secret").lstrip("/"), str(victim / "planted").lstrip("/"), ".bashrc", "victim/secret"]
    members: list[Member] = [TOOL]
    links: list[str] = []
    regular: list[str] = ["bin/tool"]
    ops = ["dir", "file", "symlink", "chain", "through"] + (["hardlink"] if hardlinks else [])
    for i in range(draw(st.integers(1, 7))):
        op = draw(st.sampled_from(ops))
        name = draw(RELATIVE)
        if op == "dir":
            members.append(directory(name))
        elif op == "file":
            members.append(file(name, b"f%d\n" % i))
            regular.append(name)
        elif op == "symlink":
            target = draw(
                st.one_of(
                    st.sampled_from(outside_abs),
                    UPS,
                    RELATIVE,
                    st.sampled_from(["a/..", "a/../.", "./a/..", "a/../..", "bin/../..", "."]),
                    (st.sampled_from(links) if links else RELATIVE).map(lambda t: f"{t}/.."),
                    UPS.map(lambda up: f"{up}/{victim.name}"),
                )
            )
            members.append(symlink(name, target))
            links.append(name)
        elif op == "chain":
            prefix = f"k{i}_"
            chained, last = chain(draw(st.integers(1, 16)), draw(st.sampled_from(sorted(SPELLINGS))), prefix)
            members += chained
            links += [m.name for m in chained]
            links.append(last)
        elif op == "through" and links:
            via = draw(st.sampled_from(links))
            members.append(file(f"{via}/{draw(st.sampled_from(outside_rel))}", b"THROUGH\n"))
        elif op == "hardlink":
            target = draw(
                st.one_of(
                    st.sampled_from(regular),
                    st.sampled_from(links or ["bin"]),
                    st.sampled_from(outside_abs).map(lambda p: p.lstrip("/")),
                    (st.sampled_from(links) if links else RELATIVE).map(lambda t: f"{t}{victim / 'secret'}"),
                )
            )
            members.append(hardlink(name, target, mode=0o777, uid=4242, gid=4242))
    return members


def check_examples(world: World, kinds: list[str], hardlinks: bool) -> None:
    victim = victim_tree(world)
    counter = itertools.count()

    # No shrinking: against a defect it would cost minutes; the first failing archive is printed as it is.
    @settings(
        max_examples=30,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(members=archive_members(victim, world.home, hardlinks), kind=st.sampled_from(kinds))
    def check(members: list[Member], kind: str) -> None:
        n = next(counter)
        world.env["ENVR_STORE"] = str(world.tmp / "stores" / f"s{n}")  # one store per example: no state leaks
        watched = {str(p): snapshot(p) for p in (victim, world.home)}
        project = archive_project(world, kind, members, name=f"p{n}")
        world.allow(project)

        r = world.envr("sync", cwd=project)

        assert_no_internal_error(r)
        for p, snap in watched.items():
            assert diff_snapshots(snap, snapshot(Path(p))) == [], f"{p} changed; {r.stderr}"
        assert_store_contained(world.store)
        if r.returncode != 0:
            assert len(error_lines(r.stderr)) == 1, r.stderr
            assert registered(world) == [], "a refused archive registered something"

    check()


def test_random_tar_archives_never_reach_outside_the_store(world: World) -> None:
    check_examples(world, ["tar.gz", "tar.xz", "tar.bz2", "plain-tar"], hardlinks=True)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_random_zip_archives_never_reach_outside_the_store(world: World) -> None:
    check_examples(world, ["zip"], hardlinks=False)
