"""D12: what execve can carry. A value over MAX_ARG_STRLEN, or a project whose whole change would take more than
a quarter of ARG_MAX, is refused at `envr allow` (and whenever the file is loaded) with one line naming the
variable or the total and the limit. execve_problem is what the prompt's core checks at activation, when
${NAME} values are known."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envr.project.limits import MAX_ARG_STRLEN, arg_max, env_bytes, execve_problem
from envr.project.templates import literal
from envr_testing import run_envr
from envr_world import project, world

LIMIT = "over the 128 KiB (131,072 bytes) one environment variable may hold"


def allow(tmp: Path, toml: str) -> subprocess.CompletedProcess[str]:
    root = project(tmp, toml)
    return run_envr("allow", str(root), cwd=root, env=world(tmp))


def refused(tmp: Path, toml: str) -> str:
    r = allow(tmp, toml)
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "internal error" not in r.stderr, r.stderr[:500]
    assert len(lines[0]) < 500, "the error line must not carry the value"
    return lines[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MAX_ARG_STRLEN is Linux's")
def test_the_limit_is_the_kernels(tmp_path: Path) -> None:
    """NAME=value with its NUL at exactly MAX_ARG_STRLEN bytes still starts a program; one byte more does not."""
    name = "BIG"
    fits = "A" * (MAX_ARG_STRLEN - len(name) - 2)
    assert env_bytes(name, fits) == MAX_ARG_STRLEN
    ok = subprocess.run(["/bin/true"], env={name: fits}, check=False)
    assert ok.returncode == 0
    with pytest.raises(OSError, match="Argument list too long"):
        subprocess.run(["/bin/true"], env={name: fits + "A"}, check=False)


def test_a_value_just_under_the_limit_is_allowed_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    fits = "A" * (MAX_ARG_STRLEN - len("BIG") - 2)
    assert allow(tmp_path, f'[env]\nBIG = "{fits}"\n').returncode == 0
    line = refused(tmp_path, f'[env]\nGREETING = "hi"\nBIG = "{fits}A"\n')
    assert (
        line
        == f"envr: {tmp_path}/p/envr.toml:3:1: env.BIG is 131,073 bytes as BIG=value, {LIMIT} (Linux MAX_ARG_STRLEN)"
    )


def test_the_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    line = refused(tmp_path, '[env]\nEURO = "' + "\u20ac" * 50_000 + '"\n')  # 50,000 characters, 150,000 bytes
    assert "env.EURO is 150,006 bytes" in line and LIMIT in line


def test_a_template_counts_what_it_holds_for_sure(tmp_path: Path) -> None:
    """${NAME} is known only at activation: allow counts the rest, and $$ as one byte."""
    assert literal("a${HOME}b$$c${not a name}$") == "ab$c${not a name}$"
    half = "$$" * 70_000  # 140,000 characters of template, 70,000 bytes of value
    assert allow(tmp_path, f'[env]\nX = "{half}${{HOME}}"\n').returncode == 0
    line = refused(tmp_path, '[env]\nX = "${HOME}' + "A" * 140_000 + '"\n')
    assert "env.X is 140,003 bytes" in line


def test_a_project_whose_whole_change_is_too_big_is_refused_naming_the_total(tmp_path: Path) -> None:
    share = arg_max() // 4
    each = 100_000
    count = share // each + 1
    body = "".join(f'V{i} = "{"A" * each}"\n' for i in range(count))
    line = refused(tmp_path, "[env]\n" + body)
    assert line.startswith(f"envr: {tmp_path}/p/envr.toml:1:1: [env] and [path] add ")
    assert f"over {share:,} bytes (a quarter of this system's ARG_MAX of {arg_max():,})" in line


def test_path_entries_count_towards_the_change(tmp_path: Path) -> None:
    entries = ", ".join(f'"/{"d" * 1000}/{i}"' for i in range(140))  # 140 KB of PATH growth
    line = refused(tmp_path, f"[path]\nprepend = [{entries}]\n")
    assert "envr.toml:2:1: path.prepend makes PATH 140," in line and LIMIT in line


def test_a_project_with_big_values_under_the_limits_loads(tmp_path: Path) -> None:
    root = project(tmp_path, f'[env]\nA = "{"a" * 100_000}"\nB = "{"b" * 100_000}"\n')
    env = world(tmp_path)
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    r = run_envr("export", "json", cwd=root, env=env)
    assert r.returncode == 0 and '"A": "aaa' in r.stdout


# --- execve_problem: the check the prompt's core makes at activation -----------------------------------------


def test_execve_problem_names_the_variable_that_grew_past_the_limit() -> None:
    before = {"HOME": "/h", "HUGE": "x" * 100_000}
    after = {**before, "BIG": before["HUGE"] * 2}
    assert execve_problem(before, after) == f"BIG would be 200,005 bytes as BIG=value, {LIMIT} (Linux MAX_ARG_STRLEN)"
    # ENVR_STATE is a variable like any other: the core passes the environment it is about to export
    assert "ENVR_STATE would be" in (execve_problem(before, {**before, "ENVR_STATE": "s" * 140_000}) or "")


def test_execve_problem_ignores_what_the_user_had_already() -> None:
    before = {"USERS_OWN": "x" * 200_000}  # not envr's doing, and not envr's to refuse
    assert execve_problem(before, {**before, "A": "1"}) is None
    assert execve_problem(before, {"A": "1"}) is None  # shrinking is always fine


def test_execve_problem_refuses_a_change_over_a_quarter_of_arg_max() -> None:
    share = arg_max() // 4
    after = {f"V{i}": "A" * 100_000 for i in range(share // 100_000 + 1)}
    problem = execve_problem({}, after)
    assert problem is not None and problem.startswith("the project would grow the environment by ")
    assert f"over {share:,} bytes" in problem


def test_execve_problem_refuses_an_environment_that_leaves_no_room_for_arguments() -> None:
    limit = arg_max()
    before = {"USERS_OWN": "u" * (limit - MAX_ARG_STRLEN - 50_000)}
    after = {**before, "P": "p" * 100_000}
    problem = execve_problem(before, after)
    assert problem is not None and "leaving no room in ARG_MAX" in problem
    assert os.sysconf("SC_ARG_MAX") == limit
