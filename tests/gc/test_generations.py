"""Project generations recorded by the prompt's core: only on a change, and nothing written otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from envr.history import generations
from gc_helpers import ok, run_envr, write_project


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_entering_again_with_nothing_new_writes_nothing(isolated: Path) -> None:
    project = write_project(isolated / "proj", "1")
    ok("export", "json", cwd=project)
    gdir = Path(generations.project_dir(str(project / "envr.toml")))
    assert generations.numbers(str(gdir)) == [1]
    data, cache = _snapshot(isolated / "data"), _snapshot(isolated / "cache")
    ok("export", "json", cwd=project)
    assert _snapshot(isolated / "data") == data and _snapshot(isolated / "cache") == cache


def test_a_change_of_env_path_or_package_is_a_new_generation_and_a_revert_too(isolated: Path) -> None:
    project = write_project(isolated / "proj", "1")
    ok("export", "json", cwd=project)
    write_project(project, "1", '[env]\nA = "1"\n')
    ok("export", "json", cwd=project)
    write_project(project, "1", '[env]\nA = "1"\n[path]\nprepend = ["bin"]\n')
    ok("export", "json", cwd=project)
    write_project(project, "1")
    ok("export", "json", cwd=project)
    lines = ok("generations", cwd=project).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4"]
    assert "+A" in lines[1] and "~PATH" in lines[2] and "-A" in lines[3] and lines[3].endswith("(current)")


def test_delete_keep_last_and_bad_numbers(isolated: Path) -> None:
    project = write_project(isolated / "proj", "1")
    for v in ("1", "2", "3", "4"):
        write_project(project, v)
        ok("export", "json", cwd=project)
    gdir = generations.project_dir(str(project / "envr.toml"))
    for args, says in (
        (("generations", "--delete", "9"), "has no generation 9"),
        (("generations", "--delete", "1", "4"), "is the current one"),
        (("switch-generation", "0"), "has no generation 0"),
    ):
        r = run_envr(*args, cwd=project)
        assert r.returncode != 0 and says in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert generations.numbers(gdir) == [1, 2, 3, 4]
    ok("generations", "--delete", "1", "2", cwd=project)
    assert generations.numbers(gdir) == [3, 4]
    ok("switch-generation", "3", cwd=project)
    ok("generations", "--keep-last", "1", cwd=project)
    assert generations.numbers(gdir) == [3, 4]  # 3 is pinned (current), 4 is the latest: both stay
    ok("sync", cwd=project)
    ok("generations", "--keep-last", "1", cwd=project)
    assert generations.numbers(gdir) == [4]
    assert not os.path.exists(generations.pin_file(str(project / "envr.toml")))
