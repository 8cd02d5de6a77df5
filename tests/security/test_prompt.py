"""A deleted working directory unloads the project without an internal error (D19), for the core as the hook
runs it (`envr export bash` evaluated by bash) and in real interactive bash, zsh and fish.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shellkit import Session

from .helpers import ENVR, World

CASES = {
    # where the shell sits, what is deleted, and what (if anything) is made again at the same path
    "subdir-of-deleted-project": ("c/sub", "c", None),
    "project-root-deleted": ("c", "c", None),
    "deep-subdir-deleted": ("c/sub/deeper", "c/sub", None),
    "recreated-empty-at-the-same-path": ("c/sub", "c", "c/sub"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_deleted_working_directory_unloads_the_project(world: World, case: str) -> None:
    where, deleted, recreated = CASES[case]
    root = world.project("c", '[env]\nG = "hi"\n')
    (world.tmp / where).mkdir(parents=True, exist_ok=True)
    world.allow(root)
    remake = f'mkdir -p "{world.tmp / recreated}"\n' if recreated else ""
    script = (
        f'cd "{world.tmp / where}" && eval "$("{ENVR}" export bash)"\n'
        'printf "inside G=[%s]\\n" "$G"\n'
        f'rm -rf "{world.tmp / deleted}"\n{remake}'
        f'eval "$("{ENVR}" export bash)"\n'
        'printf "after G=[%s]\\n" "$G"\n'
    )

    r = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script], env=world.env, capture_output=True, text=True, timeout=60
    )

    assert "inside G=[hi]" in r.stdout, r.stdout + r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "after G=[]" in r.stdout, f"the project stayed loaded: {r.stdout} {r.stderr}"
    assert len([line for line in r.stderr.splitlines() if line.strip()]) <= 2, r.stderr  # loaded + unloaded


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_deleting_the_project_under_a_hooked_shell_unloads_it(tmp_path: Path, shell: str) -> None:
    session = Session(shell, tmp_path)
    try:
        sh = session.shell()
        root = session.work / "c"
        (root / "sub").mkdir(parents=True)
        (root / "envr.toml").write_text('[env]\nG = "hi"\n')
        sh.envr(f"allow {sh.q(root)}")
        sh.cd(root / "sub")
        assert sh.var("G") == "hi"

        res = sh.run(f"command rm -rf {sh.q(root)}")
        again = sh.run("true")

        lines = res.hook + again.hook
        assert not any("internal error" in line for line in lines), lines
        assert sh.var("G") is None, f"the project stayed loaded: {lines}"
    finally:
        session.close()
