"""The file format for runtimes: platforms, [python], per-platform url tables, runtime entries (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envr.errors import ProjectFileError
from envr.project.load import parse
from envr.project.settings import PLATFORM_WORDS
from envr.store.sources._runtime import PLATFORMS, Release, current_platform, pick


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return parse(str(tmp_path / "envr.toml"), text.encode())


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ProjectFileError) as e:
        load(tmp_path, text)
    return str(e.value)


def test_platform_words_are_one_list() -> None:
    assert PLATFORM_WORDS == PLATFORMS
    assert current_platform() in PLATFORMS or "-" in current_platform()


def test_platforms(tmp_path: Path) -> None:
    assert load(tmp_path, 'platforms = ["linux-x64", "darwin-arm64"]\n').platforms == ("linux-x64", "darwin-arm64")
    assert "unknown platform 'windows-x64'" in error(tmp_path, 'platforms = ["windows-x64"]\n')
    assert ":1:1:" in error(tmp_path, 'platforms = "linux-x64"\n')
    assert "twice" in error(tmp_path, 'platforms = ["linux-x64", "linux-x64"]\n')


def test_python_section(tmp_path: Path) -> None:
    p = load(tmp_path, '[python]\nvenv = ".venv"\n')
    assert p.venv == (".venv", "")
    assert p.env["VIRTUAL_ENV"] == "${ENVR_ROOT}/.venv" and p.prepend[0] == ".venv/bin"
    assert "python.venv must stay inside" in error(tmp_path, '[python]\nvenv = "../x"\n')
    assert ":2:1: unknown key python.layout" in error(tmp_path, '[python]\nlayout = "x"\n')
    assert "needs python.venv" in error(tmp_path, '[python]\nrequirements = "r.txt"\n')


def test_runtime_entries(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        '[packages]\nnode = "node:22"\npy = "python:3.12.7"\ngo = { go = "1.23" }\n'
        'n2 = { version-file = ".nvmrc" }\nruff = { pypi = "ruff==0.6.9", python = "3.12" }\n',
    )
    assert set(p.packages) == {"node", "py", "go", "n2", "ruff"}
    assert "node version 'banana' is not one of" in error(tmp_path, '[packages]\nnode = "node:banana"\n')
    assert "lts" not in error(tmp_path, '[packages]\npy = "python:lts"\n').split("not one of")[1]
    assert "version-file must be a file inside" in error(
        tmp_path, '[packages]\nnode = { version-file = "../.nvmrc" }\n'
    )
    assert "has no source" in error(tmp_path, '[packages]\nx = { version-file = "versions.txt" }\n')
    assert "both provide one" in error(
        tmp_path, '[packages]\na = "python:3.12"\nb = "python:3.11"\nruff = "pypi:ruff==0.6.9"\n'
    )


def test_url_tables_per_platform(tmp_path: Path) -> None:
    sha = "a" * 64
    load(
        tmp_path,
        f'[packages]\njq = {{ url = {{ linux-x64 = "https://e/jq", darwin-arm64 = "https://e/jq-mac" }},'
        f' sha256 = {{ linux-x64 = "{sha}", darwin-arm64 = "{sha}" }} }}\n',
    )
    assert "same platforms" in error(
        tmp_path, f'[packages]\njq = {{ url = {{ linux-x64 = "https://e/jq" }}, sha256 = "{sha}" }}\n'
    )
    assert "keyed by platform" in error(
        tmp_path, f'[packages]\njq = {{ url = {{ win = "https://e/jq" }}, sha256 = {{ win = "{sha}" }} }}\n'
    )


def test_pick_names_the_newest_per_series() -> None:
    releases = [
        Release(v, tuple(int(p) for p in v.split(".")), v.startswith("20"))
        for v in ("22.1.0", "22.3.0", "21.0.0", "20.9.0", "20.10.0", "18.1.0")
    ]
    assert pick("node", "22", releases, True, 1, "here").version == "22.3.0"
    assert pick("node", "lts", releases, True, 1, "here").version == "20.10.0"
    assert pick("node", "v20.9", releases, True, 1, "here").version == "20.9.0"
    with pytest.raises(
        Exception, match=r"no version 19 at here; the newest are 22\.3\.0, 21\.0\.0, 20\.10\.0, 18\.1\.0$"
    ):
        pick("node", "19", releases, True, 1, "here")


def test_an_unreachable_default_host_names_the_mirror_setting() -> None:
    from envr.store.sources._downloads import _mirror_hint

    assert "ENVR_NODE_MIRROR" in _mirror_hint("node", {}) and "npm:" in _mirror_hint("node", {})
    assert "ENVR_GO_MIRROR" in _mirror_hint("packages.go (go 1.23.2 from https://x)", {})
    assert "UV_PYTHON_INSTALL_MIRROR" in _mirror_hint("python", {})
    assert _mirror_hint("node", {"ENVR_NODE_MIRROR": "http://m/"}) == ""  # the mirror itself is unreachable
    assert _mirror_hint("url", {}) == ""
