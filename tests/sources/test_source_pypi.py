"""The pypi source: validation, recipe, PIP_* translation, and real uv realises from a hand-made local wheel."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from envr.errors import EnvrError, ProjectFileError
from envr.store.sources import source_for
from envr.store.sources.base import PackageSpec, RealiseContext
from envr.store.sources.pypi import SOURCE
from envr.store.sources.uv_index import index_settings, uv_environ
from wheelmaker import make_wheel

INDEX_VARS = ("INDEX_URL", "EXTRA_INDEX_URL", "FIND_LINKS", "NO_INDEX", "DEFAULT_INDEX", "INDEX")


def spec(entry: dict[str, Any], root: Path | str = "/proj") -> PackageSpec:
    return PackageSpec("tool", "pypi", entry, str(root), "/proj/envr.toml", 7)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """envrdemo 1.0 (console + gui script) depending on envrdep 2.0 (its own console script)."""
    d = tmp_path_factory.mktemp("wheelhouse")
    make_wheel(
        d,
        "envrdemo",
        "1.0",
        {
            "envrdemo.py": "import sys\n\ndef main():\n    import envrdep\n"
            "    print('hello from envrdemo', envrdep.VALUE, sys.prefix)\n"
        },
        "[console_scripts]\nenvrdemo-hello = envrdemo:main\n\n[gui_scripts]\nenvrdemo-gui = envrdemo:main\n",
        requires=("envrdep==2.0",),
    )
    # like ruff: the executable is a wheel data script, not an entry point
    make_wheel(d, "envrbinary", "3.0", {"envrbinary-3.0.data/scripts/envrbinary": "#!/bin/sh\necho binary tool\n"})
    make_wheel(
        d,
        "envrdep",
        "2.0",
        {"envrdep.py": "VALUE = 42\n\ndef main():\n    print('dep')\n"},
        "[console_scripts]\nenvrdep-tool = envrdep:main\n",
    )
    return d


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


def clean_env(uv_cache: Path, **extra: str) -> dict[str, str]:
    """The current environment without any pip/uv index settings, with a private uv cache."""
    env = {k: v for k, v in os.environ.items() if not any(k in (f"PIP_{v_}", f"UV_{v_}") for v_ in INDEX_VARS)}
    env["UV_CACHE_DIR"] = str(uv_cache)
    env.update(extra)
    return env


def make_read_only(root: Path) -> None:
    for parent, dirnames, filenames in os.walk(root):
        for name in filenames:
            p = Path(parent, name)
            if not p.is_symlink():
                p.chmod(stat.S_IMODE(p.stat().st_mode) & ~0o222)
        for name in dirnames:
            if not Path(parent, name).is_symlink():
                Path(parent, name).chmod(0o555)
    root.chmod(0o555)


def force_rm(root: Path) -> None:
    for parent, dirnames, _ in os.walk(root):
        Path(parent).chmod(0o755)
        for name in dirnames:
            if not Path(parent, name).is_symlink():
                Path(parent, name).chmod(0o755)
    shutil.rmtree(root)


# --- validation -------------------------------------------------------------------------------------------


def test_source_for_finds_it() -> None:
    assert source_for("pypi") is SOURCE


@pytest.mark.parametrize(
    "entry",
    [
        {"pypi": "ruff==0.6.9"},
        {"pypi": "black[d]>=24", "extras": ["jupyter"], "python": "3.12"},
        {"pypi": "cowsay", "python": "3.11.7"},
        {"pypi": "pkg @ https://example.com/pkg-1.0-py3-none-any.whl"},
    ],
)
def test_validate_accepts(entry: dict[str, Any]) -> None:
    SOURCE.validate(spec(entry))


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"pypi": ""}, '"pypi"'),
        ({"pypi": 3}, '"pypi"'),
        ({"pypi": "==1.0"}, '"pypi"'),
        ({"pypi": "ruff==="}, '"pypi"'),
        ({"pypi": "ruff 0.6.9"}, '"pypi"'),
        ({"pypi": "ruff; python_version < '3.12'"}, '"pypi"'),
        ({"pypi": "ruff", "extras": "jupyter"}, '"extras"'),
        ({"pypi": "ruff", "extras": [1]}, '"extras"'),
        ({"pypi": "ruff", "extras": ["a b"]}, '"extras"'),
        ({"pypi": "ruff", "python": 3.11}, '"python"'),
        ({"pypi": "ruff", "python": "three"}, '"python"'),
        ({"pypi": "ruff", "extra": ["x"]}, "'extra'"),
    ],
)
def test_validate_rejects_naming_file_line_and_key(entry: dict[str, Any], key: str) -> None:
    with pytest.raises(ProjectFileError) as err:
        SOURCE.validate(spec(entry))
    message = str(err.value)
    assert message.startswith("/proj/envr.toml:7: ")
    assert key in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("req", "version"),
    [
        ("ruff==0.6.9", "0.6.9"),
        ("ruff===0.6.9", "0.6.9"),
        ("ruff>=0.6", "unpinned"),
        ("ruff==0.6.*", "unpinned"),
        ("ruff>=0.6,==0.6.9", "unpinned"),
        ("ruff", "unpinned"),
    ],
)
def test_version(req: str, version: str) -> None:
    assert SOURCE.version(spec({"pypi": req})) == version


def test_recipe_normalises_and_tracks_python(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in INDEX_VARS:
        monkeypatch.delenv(f"PIP_{var}", raising=False)
        monkeypatch.delenv(f"UV_{var}", raising=False)
    a = SOURCE.recipe(spec({"pypi": "Black_Fmt[D]==24.8.0", "extras": ["jupyter"], "python": "3.12"}))
    assert a["kind"] == "pypi"
    assert a["requirement"] == "black-fmt[d,jupyter]==24.8.0"
    assert a["extras"] == ["d", "jupyter"]
    assert a["python"] == "3.12"
    assert a["index"] == {}
    b = SOURCE.recipe(spec({"pypi": "black-fmt[jupyter,d]==24.8.0", "python": "3.12.4"}))
    assert b == a  # same thing spelled differently, same patch-independent interpreter
    assert SOURCE.recipe(spec({"pypi": "black-fmt[jupyter,d]==24.8.0", "python": "3.13"})) != a
    default = SOURCE.recipe(spec({"pypi": "ruff==0.6.9"}))
    import sys

    # Without a python runtime in the project, the interpreter envr runs on is the recipe's, by path and
    # exact version, and recorded as outside the store (envr store verify reports it once it is gone).
    assert default["python"] == ".".join(str(n) for n in sys.version_info[:3])
    assert default["interpreter"] == os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    assert default["external"] == [default["interpreter"]]


def test_recipe_changes_with_index_and_hides_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in INDEX_VARS:
        monkeypatch.delenv(f"PIP_{var}", raising=False)
        monkeypatch.delenv(f"UV_{var}", raising=False)
    plain = SOURCE.recipe(spec({"pypi": "ruff==0.6.9"}))
    monkeypatch.setenv("PIP_INDEX_URL", "https://user:s3cret@pypi.example.com/simple")
    other = SOURCE.recipe(spec({"pypi": "ruff==0.6.9"}))
    assert other != plain
    assert other["index"] == {"UV_INDEX_URL": "https://pypi.example.com/simple"}
    assert "s3cret" not in repr(other)


def test_pip_settings_translate_to_uv() -> None:
    env = uv_environ(
        {
            "PIP_INDEX_URL": "https://a/simple",
            "PIP_EXTRA_INDEX_URL": "https://b/simple  https://c/simple",
            "PIP_FIND_LINKS": "/w1 /w2",
            "PIP_NO_INDEX": "yes",
        }
    )
    assert env["UV_INDEX_URL"] == "https://a/simple"
    assert env["UV_EXTRA_INDEX_URL"] == "https://b/simple https://c/simple"
    assert env["UV_FIND_LINKS"] == "/w1,/w2"  # uv wants commas here
    assert env["UV_NO_INDEX"] == "1"


def test_uv_settings_win_over_pip() -> None:
    env = uv_environ(
        {
            "PIP_INDEX_URL": "https://pip/simple",
            "UV_INDEX_URL": "https://uv/simple",
            "PIP_FIND_LINKS": "/pip",
            "UV_FIND_LINKS": "/uv",
            "PIP_NO_INDEX": "0",
            "UV_DEFAULT_INDEX": "https://d/simple",
            "PIP_EXTRA_INDEX_URL": "https://e",
            "UV_INDEX": "https://i",
        }
    )
    assert env["UV_INDEX_URL"] == "https://uv/simple"
    assert env["UV_FIND_LINKS"] == "/uv"
    assert "UV_NO_INDEX" not in env  # PIP_NO_INDEX=0 means "use the index"
    assert "UV_EXTRA_INDEX_URL" not in env  # UV_INDEX set: the user configured uv's own way
    assert index_settings({"PIP_NO_INDEX": "false"}) == {}


# --- realise with real uv, no network ------------------------------------------------------------------------


def realise_and_move(tmp_path: Path, env: dict[str, str], entry: dict[str, Any]) -> tuple[Path, list[str]]:
    out = tmp_path / "build" / "out"
    out.mkdir(parents=True)
    s = spec(entry, tmp_path)
    SOURCE.validate(s)
    SOURCE.realise(s, out, RealiseContext(tmp_path / "logs" / "tool.log", environ=env))
    bins = SOURCE.bins(s, out)
    make_read_only(out)
    moved = tmp_path / "store" / "abc123-envrdemo-1.0"
    moved.parent.mkdir()
    out.rename(moved)  # what the store does: build beside, then rename into place
    (tmp_path / "build").rmdir()
    assert SOURCE.bins(s, moved) == bins
    return moved, bins


def run_tool(path: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    proc = subprocess.run([str(path)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_realise_from_find_links_relocates_and_exposes_only_own_scripts(
    tmp_path: Path, wheelhouse: Path, uv_cache: Path
) -> None:
    env = clean_env(uv_cache, UV_NO_INDEX="1", UV_FIND_LINKS=str(wheelhouse))
    moved, bins = realise_and_move(tmp_path, env, {"pypi": "envrdemo==1.0"})
    assert bins == ["venv/bin/envrdemo-gui", "venv/bin/envrdemo-hello"]  # not python, pip, activate, envrdep-tool
    assert (moved / "venv" / "bin" / "envrdep-tool").exists()  # the dependency is installed, just not exposed
    out = run_tool(moved / "venv" / "bin" / "envrdemo-hello")
    assert out.startswith("hello from envrdemo 42 ")
    assert out.split()[-1] == str(moved / "venv")  # runs from its new place
    try:
        assert not any(os.stat(p).st_nlink > 1 for p in (moved / "venv").rglob("envrdemo.py"))  # copied, not linked
    finally:
        force_rm(tmp_path / "store")


def test_realise_translates_pip_settings(tmp_path: Path, wheelhouse: Path, uv_cache: Path) -> None:
    env = clean_env(uv_cache, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse))
    moved, bins = realise_and_move(tmp_path, env, {"pypi": "envrdemo"})
    try:
        assert bins == ["venv/bin/envrdemo-gui", "venv/bin/envrdemo-hello"]
        assert run_tool(moved / "venv" / "bin" / "envrdemo-gui").startswith("hello from envrdemo 42")
    finally:
        force_rm(tmp_path / "store")


def test_missing_package_is_one_clear_line(tmp_path: Path, uv_cache: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "logs" / "x.log"
    env = clean_env(uv_cache, UV_NO_INDEX="1", UV_FIND_LINKS=str(empty))
    with pytest.raises(EnvrError) as err:
        SOURCE.realise(spec({"pypi": "envr-no-such-package==1.0"}), out, RealiseContext(log, environ=env))
    message = str(err.value)
    assert "\n" not in message
    assert "envr-no-such-package==1.0" in message
    assert "exit 1" in message
    assert "not found" in message
    assert str(log) in message
    assert "envr-no-such-package" in log.read_text()


def test_data_scripts_are_exposed_and_relative_out_works(
    tmp_path: Path, wheelhouse: Path, uv_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = clean_env(uv_cache, UV_NO_INDEX="1", UV_FIND_LINKS=str(wheelhouse))
    monkeypatch.chdir(tmp_path)
    Path("out").mkdir()
    s = spec({"pypi": "envrbinary==3.0"})
    SOURCE.realise(s, Path("out"), RealiseContext(Path("x.log"), environ=env))
    assert SOURCE.bins(s, Path("out")) == ["venv/bin/envrbinary"]
    assert run_tool(tmp_path / "out" / "venv" / "bin" / "envrbinary") == "binary tool\n"


def test_bins_without_install_is_empty(tmp_path: Path) -> None:
    assert SOURCE.bins(spec({"pypi": "envrdemo"}), tmp_path) == []


@pytest.mark.network
def test_real_pypi_cowsay(tmp_path: Path, uv_cache: Path) -> None:
    env = clean_env(uv_cache)
    out = tmp_path / "out"
    out.mkdir()
    s = spec({"pypi": "pypi:cowsay==6.1".removeprefix("pypi:")})
    SOURCE.realise(s, out, RealiseContext(tmp_path / "cowsay.log", environ=env))
    assert SOURCE.bins(s, out) == ["venv/bin/cowsay"]
    moved = tmp_path / "moved"
    out.rename(moved)
    proc = subprocess.run(
        [str(moved / "venv" / "bin" / "cowsay"), "-t", "moo"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "moo" in proc.stdout
