"""D13 and issue 10 item 11: `envr export dotenv` is safe to `set -a; . file` in sh and bash (every value byte for
byte, nothing runs), python-dotenv reads it the same wherever its syntax allows, a line-based reader (docker) never
sees a variable the project did not set, envr's revert state stays out of it; `envr export github` counts
variables and PATH entries apart."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envr.errors import EnvrError
from envr.shells.formats import render_dotenv
from envr_testing import run_envr
from envr_world import project, world

# Fragments a careless quoting would run or mangle, mixed into random text.
NASTY = ["$(touch {m})", "`touch {m}`", "${{HOME}}", "$HOME", "'", '"', "\\", "\\'", "'\\''", "\r", "\t", " #x"]
NASTY += ["~", "*", "?", "[a]", ";", "&", "|", "!", "=", "\\n", "$$", "\u20ac", "\x1b[31m", "\x7f", "# unset X"]


def values(marker: Path) -> st.SearchStrategy[str]:
    piece = st.one_of(
        st.sampled_from([f.format(m=marker) for f in NASTY]),
        st.text(st.characters(codec="utf-8", exclude_characters="\0\n"), max_size=8),
    )
    return st.lists(piece, max_size=6).map("".join)


def sourced(shell: str, file: Path, names: list[str]) -> dict[str, str]:
    """What `set -a; . file` leaves in the environment of shell, read back with env -0."""
    r = subprocess.run(
        [shell, "-c", f"set -a; . '{file}'; exec env -0"],
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    env = {}
    for item in r.stdout.split(b"\0")[:-1]:
        name, _, value = item.partition(b"=")
        env[name.decode()] = value.decode("utf-8", "surrogateescape")
    return {n: env.get(n, "<unset>") for n in names}


def write(tmp: Path, delta: dict[str, str | None]) -> Path:
    file = tmp / "out.env"
    file.write_bytes(render_dotenv(delta).encode("utf-8", "surrogateescape"))
    return file


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sh_and_bash_read_every_value_back_byte_for_byte_and_run_nothing(tmp_path: Path, data: st.DataObject) -> None:
    marker = tmp_path / "PWNED"
    delta = {f"V{i}": data.draw(values(marker)) for i in range(data.draw(st.integers(1, 5)))}
    file = write(tmp_path, dict(delta))
    for shell in ("sh", "bash"):
        assert sourced(shell, file, list(delta)) == delta, (shell, file.read_text())
    assert not marker.exists()


def dotenv_exact(value: str) -> bool:
    """Where the docstring says python-dotenv agrees with sh (read with interpolate=False: by default it expands
    ${NAME} in every form, and has no escape for it): unless a value holds a ' or \\ and also a $ or `, or a CR."""
    if "\r" in value:  # opened as a text file, it reads a carriage return as a newline
        return False
    return not (("'" in value or "\\" in value) and ("$" in value or "`" in value))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_python_dotenv_reads_the_same_values_where_its_syntax_allows(tmp_path: Path, data: st.DataObject) -> None:
    dotenv = pytest.importorskip("dotenv")
    delta = {f"V{i}": data.draw(values(tmp_path / "PWNED")) for i in range(data.draw(st.integers(1, 5)))}
    delta = {k: v for k, v in delta.items() if dotenv_exact(v)}
    file = write(tmp_path, dict(delta))
    assert dict(dotenv.dotenv_values(file, interpolate=False)) == delta, file.read_text()


def test_plain_values_are_bare_so_dockers_literal_reader_gets_them_exactly(tmp_path: Path) -> None:
    text = render_dotenv({"A": "/opt/x:1.2.3,a=b+c@d%e", "B": "", "C": "two words", "D": None})
    assert text == "A=/opt/x:1.2.3,a=b+c@d%e\nB=\nC='two words'\n# unset D\n"


def test_names_that_are_not_identifiers_and_the_revert_state_are_left_out() -> None:
    delta = {"x;touch /tmp/x;y": "1", "ENVR_STATE": "s", "ENVR_PROFILE": "p", "A\nB": "1", "OK": "1"}
    assert render_dotenv(delta) == "OK=1\n"


def test_envr_export_dotenv_of_a_project_sources_back_exactly(tmp_path: Path) -> None:
    env = world(tmp_path)
    marker = tmp_path / "PWNED-dotenv"
    tools = tmp_path / "tools" / "bin"
    tools.mkdir(parents=True)
    (tools / "hi").write_text("#!/bin/sh\necho hi\n")
    (tools / "hi").chmod(0o755)
    r = run_envr("profile", "install", f"path:{tools.parent}", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr  # a profile: ENVR_PROFILE is part of the change
    root = project(
        tmp_path,
        f'[env]\nV = "a`touch {marker}`b $(echo not-run) it\'s"\nW = \'back\\slash "q" $x\'\nGONE = false\n',
    )
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0

    r = run_envr("export", "dotenv", cwd=root, env={**env, "GONE": "here"})
    assert r.returncode == 0, r.stderr
    file = tmp_path / "project.env"
    file.write_text(r.stdout)

    assert "ENVR_STATE" not in r.stdout and "ENVR_PROFILE" not in r.stdout
    assert "# unset GONE\n" in r.stdout
    expected = {
        "V": f"a`touch {marker}`b $(echo not-run) it's",
        "W": 'back\\slash "q" $x',
        "ENVR_ROOT": str(root),
    }
    for shell in ("sh", "bash"):
        assert sourced(shell, file, list(expected)) == expected
    assert not marker.exists()


def test_a_value_with_a_line_break_is_refused_naming_it(tmp_path: Path) -> None:
    """docker reads a .env line by line: the second line of a value would be a variable (or a host name) of its
    own, so no quoting makes it safe."""
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nA = "1"\nNL = "one\\nEVIL=yes"\n')
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0

    r = run_envr("export", "dotenv", cwd=root, env=env)

    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        "envr: NL holds a line break, which a .env file cannot carry safely (docker would read the next line as a "
        "variable of its own); use `envr export json`, or run the tool under `envr exec`\n"
    )
    with pytest.raises(EnvrError, match="NL holds a line break"):
        render_dotenv({"A": "1", "NL": "x\n"})


def test_export_github_counts_variables_and_path_entries_apart(tmp_path: Path) -> None:
    env = world(tmp_path)
    root = project(tmp_path, '[env]\nA = "1"\nB = "2"\n[path]\nprepend = ["bin", "tools"]\n')
    assert run_envr("allow", str(root), cwd=root, env=env).returncode == 0
    gh = {"GITHUB_ENV": str(tmp_path / "gh-env"), "GITHUB_PATH": str(tmp_path / "gh-path")}

    r = run_envr("export", "github", cwd=root, env={**env, **gh})

    assert r.returncode == 0
    assert r.stderr == "envr: exported 3 variables to $GITHUB_ENV and 2 PATH entries to $GITHUB_PATH\n"
    names = [line.split("=")[0] for line in Path(gh["GITHUB_ENV"]).read_text().splitlines()]
    assert names == ["A", "B", "ENVR_ROOT"]
    assert os.path.exists(gh["GITHUB_PATH"])
