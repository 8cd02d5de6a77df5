"""D16: arrays and inline tables nested thousands deep, in envr.toml or envr.lock, give one line with the file's
line and column, never `internal error: RecursionError`."""

from __future__ import annotations

from pathlib import Path

import pytest

from envr.project.file import too_deep_at
from envr_testing import run_envr
from envr_world import allow_error, project, world

DEEP = {
    "arrays": ("[env]\nX = " + "[" * 5000 + "]" * 5000 + "\n", "2:69"),
    "inline-tables": ("[env]\nX = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", "2:325"),
    "mixed": ("[env]\nX = " + "[{a = " * 1500 + "1" + "}]" * 1500 + "\n", "2:197"),
    "in-packages": ("[packages]\nt = { url = " + "[" * 5000 + "]" * 5000 + " }\n", "2:76"),
    "after-strings-and-comments": (
        "# [[[[ not nesting\n[env]\nA = \"[[[[{{{{\"\nB = '''\n[[[\n'''\n\nC = " + "[" * 4000 + "]" * 4000,
        "8:69",
    ),
}


@pytest.mark.parametrize("case", list(DEEP))
def test_deep_nesting_in_envr_toml_is_refused_at_the_place_it_gets_too_deep(tmp_path: Path, case: str) -> None:
    toml, where = DEEP[case]
    line = allow_error(tmp_path, toml)
    assert line == (
        f"envr: {tmp_path}/p/envr.toml:{where}: arrays or inline tables nested too deeply to read "
        "(keep them under 64 levels)"
    )


def test_the_location_skips_strings_comments_and_table_headers() -> None:
    text = '[[a]]\n# [[[\nx = "[[["\ny = [ [ # [[[\n  [ ]]]\n'
    assert too_deep_at(text, 2) == (5, 3)
    assert too_deep_at(text, 3) == (None, None)


def test_an_allowed_project_edited_to_nest_deeply_says_so_at_the_prompt(tmp_path: Path) -> None:
    """Blocked (changed since allowed), the prompt's core parses the file to say what changed: one line."""
    root = project(tmp_path, '[env]\nX = "1"\n[packages]\n')
    env = world(tmp_path)
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    (root / "envr.toml").write_text(DEEP["in-packages"][0])

    r = run_envr("export", "json", cwd=root, env=env)

    assert r.returncode in (1, 3) and "internal error" not in r.stderr
    assert len(r.stderr.splitlines()) == 1 and "envr.toml" in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("nest", "col"),
    [("[" * 5000 + "]" * 5000, 69), ("{a = " * 2000 + "1" + "}" * 2000, 325)],
    ids=["arrays", "inline-tables"],
)
def test_deep_nesting_in_envr_lock_is_one_line_naming_the_lock(tmp_path: Path, nest: str, col: int) -> None:
    root = project(tmp_path, '[env]\nX = "1"\n[packages]\na = { path = "./tree" }\n')
    (root / "tree").mkdir()
    (root / "tree" / "f").write_text("x\n")
    (root / "envr.lock").write_text(f"version = 1\nx = {nest}\n")
    env = world(tmp_path)
    lock = f"{root}/envr.lock:2:{col}: arrays or inline tables nested too deeply; run envr lock to rewrite it"

    check = run_envr("lock", "--check", cwd=root, env=env)
    assert (check.returncode, check.stderr) == (1, f"envr: {lock}\n")
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    prompt = run_envr("export", "json", cwd=root, env=env)
    assert (prompt.returncode, prompt.stderr) == (1, f"envr: {lock}\n")
