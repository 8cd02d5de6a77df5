"""[packages] validation (file:line errors at load), executable collisions, auto-sync and ENVR_AUTO_SYNC=0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envr.errors import ProjectFileError
from envr.project.load import parse
from store_helpers import run_envr, store_entries, write_project


def tool_dir(root: Path, name: str, exe: str, says: str) -> Path:
    d = root / name / "bin"
    d.mkdir(parents=True)
    (d / exe).write_text(f"#!/bin/sh\necho {says}\n")
    (d / exe).chmod(0o755)
    return d.parent


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ('x = { url = "https://e/x", sha256 = "%s", colour = 1 }' % ("a" * 64), 5, "unknown key 'colour'"),
        ('x = { path = "a", url = "https://e/x" }', 5, "two sources (url and path)"),
        ("x = { bin = [] }", 5, "no source"),
        ("x = { path = 3 }", 5, "path must be a non-empty string"),
        ('x = { path = "a", bin = "b" }', 5, "bin must be an array"),
        ('"bad/name" = { path = "a" }', 5, "invalid package name"),
        ('x = "brew:jq"', 5, 'a string must be "pypi:..." or "npm:..."'),
        ('x = { path = "a", prefer = "x" }', 5, "prefer must be an array"),
        ('x = { url = "https://e/x" }', 5, "needs sha256"),
        ('x = { path = "a", inputs = ["y"], build = "true" }', 5, "input 'y' is not in [packages]"),
    ],
)
def test_bad_entries_fail_at_load_with_file_and_line(entry: str, line: int, message: str) -> None:
    text = f"version = 1\n[env]\nA = '1'\n[packages]\n{entry}\n"
    with pytest.raises(ProjectFileError) as info:
        parse("/p/envr.toml", text.encode())
    assert str(info.value).startswith(f"/p/envr.toml:{line}"), str(info.value)
    assert message in str(info.value)


def test_subtable_form_is_located_too() -> None:
    text = "version = 1\n\n[packages.x]\npath = 'a'\nurl = 'https://e'\n"
    with pytest.raises(ProjectFileError, match=r"envr.toml:3:.*two sources"):
        parse("/p/envr.toml", text.encode())


def test_input_cycle_is_refused() -> None:
    text = "[packages]\na = { path = 'a', build = 'true', inputs = ['b'] }\nb = { path = 'b', build = 'true', inputs = ['a'] }\n"
    with pytest.raises(ProjectFileError, match="input cycle"):
        parse("/p/envr.toml", text.encode())


def test_shorthands_expand() -> None:
    from envr.project.packages import validate

    specs = validate("/p/envr.toml", "", "/p", {"r": "pypi:ruff==0.6.9", "p": "npm:prettier@3.3.3"})
    assert [(s.kind, dict(s.entry)) for s in specs] == [
        ("pypi", {"pypi": "ruff==0.6.9"}),
        ("npm", {"npm": "prettier@3.3.3"}),
    ]


def test_two_packages_with_one_executable_is_an_error_naming_both(isolated: Path) -> None:
    a = tool_dir(isolated, "a", "tool", "A")
    b = tool_dir(isolated, "b", "tool", "B")
    root = write_project(isolated / "p", f'one = {{ path = "{a}" }}\ntwo = {{ path = "{b}" }}')
    assert run_envr("sync", cwd=root).returncode == 0
    r = run_envr("exec", ".", "--", "tool", cwd=root)
    assert r.returncode != 0 and "packages one and two both provide 'tool'" in r.stderr


def test_prefer_picks_the_winner_whatever_the_file_order(isolated: Path) -> None:
    a = tool_dir(isolated, "a", "tool", "A")
    b = tool_dir(isolated, "b", "tool", "B")
    root = write_project(isolated / "p", f'one = {{ path = "{a}" }}\ntwo = {{ path = "{b}", prefer = ["tool"] }}')
    assert run_envr("sync", cwd=root).returncode == 0
    r = run_envr("exec", ".", "--", "tool", cwd=root)
    assert r.stdout == "B\n", r.stderr


def test_entering_auto_syncs_missing_packages(isolated: Path) -> None:
    a = tool_dir(isolated, "a", "tool", "A")
    root = write_project(isolated / "p", f'one = {{ path = "{a}" }}')
    r = run_envr("export", "bash", cwd=root)
    assert r.returncode == 0
    assert "realising one" in r.stderr
    assert ".envr/bin" in r.stdout and len(store_entries(isolated / "store")) == 1


def test_auto_sync_off_reports_missing_and_loads_the_rest(isolated: Path) -> None:
    a = tool_dir(isolated, "a", "tool", "A")
    b = tool_dir(isolated, "b", "other", "B")
    root = write_project(isolated / "p", f'one = {{ path = "{a}" }}\ntwo = {{ path = "{b}" }}\n[env]\nX = "1"')
    r = run_envr("sync", cwd=root)
    assert r.returncode == 0
    two = run_envr("store", "path", "two", cwd=root).stdout.strip()
    assert run_envr("store", "rm", two, cwd=root).returncode == 0
    r = run_envr("export", "json", cwd=root, env={**os.environ, "ENVR_AUTO_SYNC": "0"})
    assert r.returncode == 0 and '"X": "1"' in r.stdout
    r = run_envr("export", "bash", cwd=root, env={**os.environ, "ENVR_AUTO_SYNC": "0"})
    assert "missing: two; run envr sync" in r.stderr
    assert store_entries(isolated / "store") == [
        os.path.basename(run_envr("store", "path", "one", cwd=root).stdout.strip())
    ]


def test_entering_a_realised_project_writes_nothing_to_the_registry(isolated: Path) -> None:
    a = tool_dir(isolated, "a", "tool", "A")
    root = write_project(isolated / "p", f'one = {{ path = "{a}" }}')
    assert run_envr("sync", cwd=root).returncode == 0
    db = isolated / "store" / ".registry.sqlite"
    before = db.stat().st_mtime_ns, sorted(os.listdir(isolated / "store"))
    r = run_envr("export", "bash", cwd=root)
    assert r.returncode == 0 and "realising" not in r.stderr
    assert (db.stat().st_mtime_ns, sorted(os.listdir(isolated / "store"))) == before


def test_a_failing_auto_sync_still_loads_the_rest_and_names_what_is_missing(isolated: Path) -> None:
    a = tool_dir(isolated, "a", "tool", "A")
    root = write_project(isolated / "p", f'one = {{ path = "{a}" }}\ngone = {{ path = "./nope" }}\n[env]\nX = "1"')
    r = run_envr("export", "bash", cwd=root)
    assert r.returncode == 0
    assert "nope does not exist" in r.stderr and "missing: gone; run envr sync" in r.stderr
    assert "X=" in r.stdout and ".envr/bin" in r.stdout


def test_removing_something_not_in_the_store_is_refused(isolated: Path) -> None:
    root = write_project(isolated / "p", 'one = { path = "." }')
    r = run_envr("store", "rm", str(isolated / "store" / "0123-x-1"), cwd=root)
    assert r.returncode == 1 and "is not in the store" in r.stderr
