"""The project file: discovery and every refusal, each naming file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from envr.errors import ProjectFileError
from envr.project.file import find_project_file
from envr.project.load import load


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "envr.toml"
    f.write_text(text, encoding="utf-8")
    return f


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ProjectFileError) as info:
        load(str(write(tmp_path, text)))
    return str(info.value)


def test_full_file_parses(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        'version = 1\n[env]\nGREETING = "hello"\nUNWANTED = false\n[path]\nprepend = ["bin"]\nappend = ["t/bin"]\n',
    )
    p = load(str(f))
    assert p.root == str(tmp_path)
    assert p.env == {"GREETING": "hello", "UNWANTED": None}
    assert p.prepend == ("bin",)
    assert p.append == ("t/bin",)


def test_nearest_file_wins(tmp_path: Path) -> None:
    write(tmp_path, "")
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    (tmp_path / "a" / "envr.toml").write_text("")
    assert find_project_file(str(inner)) == str(tmp_path / "a" / "envr.toml")
    assert find_project_file(str(tmp_path)) == str(tmp_path / "envr.toml")


def test_malformed_toml_names_line_and_column(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[env]\nA = "x"\nB = \n')
    assert msg.startswith(f"{tmp_path / 'envr.toml'}:3:")
    assert "invalid TOML" in msg


def test_unknown_section_is_located(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[env]\nA = "x"\n\n[enviroment]\nB = "y"\n')
    assert (
        msg
        == f"{tmp_path / 'envr.toml'}:4:1: unknown section or key 'enviroment' (expected one of: env, path, packages, python, version, inherit, dotenv, platforms)"
    )


def test_unknown_path_key(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[path]\nprepend = ["a"]\n  prepnd = ["b"]\n')
    assert msg.startswith(f"{tmp_path / 'envr.toml'}:3:3: unknown key path.prepnd")


def test_wrong_value_type(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "[env]\nPORT = 8080\n")
    assert msg == f"{tmp_path / 'envr.toml'}:2:1: env.PORT must be a string or false (to unset), not an integer"
    assert "must be an array of strings" in error_of(tmp_path, '[path]\nprepend = "bin"\n')


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "É"])
def test_invalid_variable_name(tmp_path: Path, name: str) -> None:
    msg = error_of(tmp_path, f'[env]\n"{name}" = "x"\n')
    assert ":2:1: invalid variable name" in msg


@pytest.mark.parametrize(
    "name", ["ENVR_ROOT", "ENVR_PROFILE", "ENVR_SHELL_PACKAGES", "PWD", "OLDPWD", "SHLVL", "_", "PATH"]
)
def test_reserved_variable(tmp_path: Path, name: str) -> None:
    msg = error_of(tmp_path, f'[env]\nOK = "1"\n{name} = "x"\n')
    assert f":3:1: envr must not set {name}" in msg


def test_nul_in_value_refused(tmp_path: Path) -> None:
    assert "NUL" in error_of(tmp_path, '[env]\nA = "x\\u0000y"\n')


def test_unsupported_version(tmp_path: Path) -> None:
    assert "unsupported version 3" in error_of(tmp_path, "version = 3\n")
    assert "needs version = 2" in error_of(tmp_path, "version = 1\ninherit = true\n")


def test_invalid_utf8(tmp_path: Path) -> None:
    f = tmp_path / "envr.toml"
    f.write_bytes(b'[env]\nA = "\xff"\n')
    with pytest.raises(ProjectFileError, match=r":2: not valid UTF-8"):
        load(str(f))


@pytest.mark.parametrize("name", ["path", "fpath", "_envr_pwd", "__envr_py"])
def test_names_the_shells_tie_or_the_hook_uses_are_refused(tmp_path: Path, name: str) -> None:
    assert f"envr must not set {name}" in error_of(tmp_path, f'[env]\n{name} = "x"\n')
