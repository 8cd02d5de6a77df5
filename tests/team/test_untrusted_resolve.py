"""D5: nothing of an unallowed project runs. `envr lock`, `lock --upgrade`, `add` and `remove` resolve packages,
and resolving a PyPI sdist or URL requirement runs its build backend; so each refuses a project that is not
allowed (exit 3, one line naming `envr allow` and `--trust`, nothing written) unless given --trust.
`lock --check` resolves nothing and works on any project."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from envr_testing import run_envr
from envr_world import world

BACKEND = """\
import os
open(os.path.join({marker!r}), "w").write("ran\\n")
raise SystemExit(1)
"""


def evil_sdist(tmp: Path, marker: Path) -> Path:
    """An sdist whose in-tree build backend writes marker when anything builds it (the findings' D5 script)."""
    files = {
        "evil-1.0/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "evil-1.0/backend.py": BACKEND.format(marker=str(marker)),
        "evil-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
    }
    path = tmp / "evil-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """A cloned project never allowed here: a path package and a pypi entry pointing at the evil sdist."""
    marker = tmp_path / "PWNED-before-allow"
    sdist = evil_sdist(tmp_path, marker)
    root = tmp_path / "clone"
    (root / "tree").mkdir(parents=True)
    (root / "tree" / "f").write_text("x\n")
    (root / "envr.toml").write_text(
        f'[packages]\ntree = {{ path = "./tree" }}\nevil = {{ pypi = "evil @ {sdist.as_uri()}" }}\n'
    )
    env = {**world(tmp_path), "TMPDIR": str(tmp_path), "UV_OFFLINE": "1"}
    return root, env, marker


COMMANDS = {
    "lock": ["lock"],
    "lock --upgrade": ["lock", "--upgrade"],
    "lock --upgrade NAME": ["lock", "--upgrade", "evil"],
    "add": ["add", "pypi:iniconfig==2.0.0"],
    "remove": ["remove", "tree"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_resolving_commands_refuse_a_project_that_is_not_allowed(
    clone: tuple[Path, dict[str, str], Path], command: str
) -> None:
    root, env, marker = clone
    before = sorted(p.name for p in root.iterdir()), (root / "envr.toml").read_bytes()

    r = run_envr(*COMMANDS[command], cwd=root, env=env)

    assert r.returncode == 3, r.stderr
    (line,) = r.stderr.splitlines()
    assert line == (
        f"envr: {root}/envr.toml is not allowed; resolving its packages runs their build code, "
        "so run 'envr allow' after reviewing it (or pass --trust)"
    )
    assert not marker.exists(), "the sdist's build backend ran"
    assert (sorted(p.name for p in root.iterdir()), (root / "envr.toml").read_bytes()) == before


def test_a_project_changed_since_allowed_is_refused_too(clone: tuple[Path, dict[str, str], Path]) -> None:
    """The teammate's case: a pull added the evil entry to a project allowed before."""
    root, env, marker = clone
    text = (root / "envr.toml").read_text()
    (root / "envr.toml").write_text('[packages]\ntree = { path = "./tree" }\n')
    assert run_envr("allow", cwd=root, env=env).returncode == 0
    assert run_envr("lock", cwd=root, env=env).returncode == 0
    (root / "envr.toml").write_text(text)  # the pull

    for args in COMMANDS.values():
        r = run_envr(*args, cwd=root, env=env)
        assert r.returncode == 3 and "changed since allowed" in r.stderr and "--trust" in r.stderr, r.stderr
    assert not marker.exists()


def test_lock_check_needs_no_approval_and_runs_nothing(clone: tuple[Path, dict[str, str], Path]) -> None:
    root, env, marker = clone

    r = run_envr("lock", "--check", cwd=root, env=env)

    assert r.returncode == 1 and "no envr.lock" in r.stdout, r.stdout + r.stderr
    assert not marker.exists()


def test_trust_approves_the_file_as_it_is_and_then_locks(tmp_path: Path) -> None:
    """--trust, as `envr exec --trust`: for a CI checkout whose author the job already trusts."""
    root = tmp_path / "ci"
    (root / "tree").mkdir(parents=True)
    (root / "tree" / "f").write_text("x\n")
    (root / "envr.toml").write_text('[packages]\ntree = { path = "./tree" }\n')
    env = world(tmp_path)

    r = run_envr("lock", "--trust", cwd=root, env=env)

    assert r.returncode == 0, r.stderr
    assert (root / "envr.lock").exists()
    assert run_envr("lock", "--check", cwd=root, env=env).returncode == 0
    assert "trust: allowed" in run_envr("status", cwd=root, env=env).stdout
    r = run_envr("remove", "tree", cwd=root, env=env)
    assert r.returncode == 0 and "tree" not in (root / "envr.toml").read_text()
    assert "trust: allowed" in run_envr("status", cwd=root, env=env).stdout
