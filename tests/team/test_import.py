"""envr import: an envr.toml from mise, asdf, nvm, pyenv and direnv files, saying what it left out."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ENVR = str(Path(sys.executable).parent / "envr")


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ENVR, "import", *args], cwd=cwd, capture_output=True, text=True)


def test_tool_versions_nvmrc_and_a_simple_envrc(isolated: Path) -> None:
    repo = isolated / "repo"
    repo.mkdir()
    (repo / ".tool-versions").write_text("nodejs 22.11.0\nruby 3.3.0\ngolang 1.23.2\n")
    (repo / ".nvmrc").write_text("20\n")
    (repo / ".python-version").write_text("3.12.7\n")
    (repo / ".envrc").write_text(
        "export API=http://localhost:8080\nexport DATA=$PWD/data HOME_BIN=${HOME}/bin\n"
        "export LIT='$5'\nPATH_add bin\ndotenv_if_exists .env.local\nuse flake\n"
        "export STAMP=$(date)\n"
    )
    r = run(repo)
    assert r.returncode == 0, r.stderr
    data = tomllib.loads((repo / "envr.toml").read_text())
    assert data["packages"] == {
        "node": "node:22.11.0",
        "go": "go:1.23.2",
        "python": {"version-file": ".python-version"},
    }
    assert data["env"] == {
        "API": "http://localhost:8080",
        "DATA": "${ENVR_ROOT}/data",
        "HOME_BIN": "${HOME}/bin",
        "LIT": "$$5",
    }
    assert data["path"] == {"prepend": ["bin"]}
    assert data["dotenv"] == [{"file": ".env.local", "optional": True}]
    skipped = [line for line in r.stderr.splitlines() if "not translated" in line]
    assert any(".tool-versions:2: ruby 3.3.0" in line for line in skipped)
    assert any(".nvmrc: node is already taken from .tool-versions:1" in line for line in skipped)
    assert any(".envrc:6: 'use flake'" in line for line in skipped)
    assert any(".envrc:7:" in line and "runs commands" in line for line in skipped)
    # the file loads, and nothing is approved by importing
    status = subprocess.run([ENVR, "status"], cwd=repo, capture_output=True, text=True)
    assert "allow" in status.stdout + status.stderr
    again = run(repo)
    assert again.returncode == 1 and "exists" in again.stderr


def test_mise_tools_and_env(isolated: Path) -> None:
    repo = isolated / "m"
    repo.mkdir()
    (repo / ".mise.toml").write_text(
        '[tools]\nnode = "22"\npython = ["3.12", "3.11"]\n"npm:prettier" = "3.3.3"\n'
        '"pipx:black" = "24.8.0"\nerlang = "27"\n'
        '[env]\nNAME = "x"\n_.path = ["./tools"]\n_.file = ".env"\n'
        '[tasks.build]\nrun = "make"\n'
    )
    r = run(repo, "--stdout")
    assert r.returncode == 0, r.stderr
    assert not (repo / "envr.toml").exists()
    data = tomllib.loads(r.stdout)
    assert data["packages"] == {
        "node": "node:22",
        "python": "python:3.12",
        "prettier": "npm:prettier@3.3.3",
        "black": "pypi:black==24.8.0",
    }
    assert data["env"] == {"NAME": "x"} and data["path"] == {"prepend": ["./tools"]} and data["dotenv"] == [".env"]
    said = r.stderr
    assert "erlang" in said and "[tasks]" in said and "took 3.12" in said


def test_nothing_to_import_is_one_line(isolated: Path) -> None:
    r = run(isolated)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "nothing to import" in r.stderr
