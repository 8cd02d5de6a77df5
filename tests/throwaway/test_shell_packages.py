"""envr shell -p with a hand-made local wheel (uv with UV_NO_INDEX and UV_FIND_LINKS: no network): the tool
runs inside, is gone outside, exit status passes through, it stacks on a project, and gc may collect it after."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wheelmaker import make_wheel

ENVR = str(Path(sys.executable).parent / "envr")
SPEC = "pypi:envrshelltool==1.0"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("wheelhouse")
    make_wheel(
        d,
        "envrshelltool",
        "1.0",
        {"envrshelltool.py": "def main():\n    print('hello from the throwaway tool')\n"},
        "[console_scripts]\nenvrshelltool = envrshelltool:main\n",
    )
    return d


@pytest.fixture
def env(isolated: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The isolated environment, uv pointed at the wheelhouse only, PATH without the tool."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "ENVR_SHELL"))}
    e.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(wheelhouse), UV_CACHE_DIR=str(isolated / "uv-cache"))
    e["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    return e


def envr(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ENVR, *args], env={**env, "PWD": str(cwd)}, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def store_paths(env: dict[str, str]) -> list[str]:
    store = Path(env["ENVR_STORE"])
    return sorted(str(store / n) for n in os.listdir(store) if not n.startswith(".")) if store.exists() else []


def test_the_tool_runs_inside_is_gone_outside_and_exit_status_passes_through(
    isolated: Path, env: dict[str, str]
) -> None:
    work = isolated / "work"
    work.mkdir()
    inside = envr("shell", "-p", SPEC, "--", "envrshelltool", env=env, cwd=work)
    assert inside.returncode == 0, inside.stderr
    assert "hello from the throwaway tool" in inside.stdout
    assert shutil.which("envrshelltool", path=env["PATH"]) is None  # outside: not on PATH

    status = envr(
        "shell", "-p", SPEC, "--", "sh", "-c", 'echo "marker=$ENVR_SHELL_PACKAGES"; exit 7', env=env, cwd=work
    )
    assert status.returncode == 7
    assert "marker=envrshelltool" in status.stdout
    assert "realising" not in status.stderr  # the second time it is reused from the store

    assert list(work.iterdir()) == []  # nothing written to the directory (no envr.toml, no lock)
    assert len(store_paths(env)) == 1
    assert envr("shell", "-p", "brew:jq", "--", "true", env=env, cwd=work).returncode != 0


def test_inside_a_project_it_stacks_on_the_projects_environment(isolated: Path, env: dict[str, str]) -> None:
    project = isolated / "proj"
    project.mkdir()
    (project / "envr.toml").write_text('version = 1\n[env]\nGREETING = "from the project"\n')
    assert envr("allow", env=env, cwd=project).returncode == 0
    r = envr(
        "exec",
        ".",
        "--",
        ENVR,
        "shell",
        "-p",
        SPEC,
        "--",
        "sh",
        "-c",
        'echo "$GREETING"; envrshelltool',
        env=env,
        cwd=project,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["from the project", "hello from the throwaway tool"]
    assert not (project / "envr.lock").exists()
    assert (project / "envr.toml").read_text() == 'version = 1\n[env]\nGREETING = "from the project"\n'


def test_its_packages_are_rooted_only_while_it_runs_so_gc_may_collect_them_after(
    isolated: Path, env: dict[str, str]
) -> None:
    work = isolated / "work"
    work.mkdir()
    # gc from inside the shell must keep the package: the shell still uses it
    r = envr("shell", "-p", SPEC, "--", "sh", "-c", f"{ENVR} gc && envrshelltool", env=env, cwd=work)
    assert r.returncode == 0, r.stderr
    assert "hello from the throwaway tool" in r.stdout
    [path] = store_paths(env)
    # after it exited nothing roots it
    collected = envr("gc", env=env, cwd=work)
    assert collected.returncode == 0, collected.stderr
    assert not os.path.exists(path)
    assert envr("store", "verify", env=env, cwd=work).returncode == 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_interactive_shell_has_the_tool_and_exit_returns_to_the_shell_without_it(
    isolated: Path, env: dict[str, str]
) -> None:
    import pexpect

    shell_env = {**env, "SHELL": shutil.which("bash") or "bash", "PS1": "PROMPT> ", "TERM": "dumb"}
    shell_env.pop("PROMPT_COMMAND", None)
    bash = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], env=shell_env, cwd=str(isolated), encoding="utf-8", timeout=60
    )
    try:
        bash.expect_exact("PROMPT> ")
        bash.sendline(f"envr shell -p {SPEC}")
        bash.expect_exact("synced envrshelltool")
        bash.sendline("PS1='IN''NER> '")  # the inner bash may have read /etc/bash.bashrc: set a prompt to wait for
        bash.expect_exact("INNER> ")
        bash.sendline('echo "inner:$ENVR_SHELL_PACKAGES"; envrshelltool')
        bash.expect_exact("inner:envrshelltool")
        bash.expect_exact("hello from the throwaway tool")
        bash.expect_exact("INNER> ")
        bash.sendline("exit 5")
        bash.expect_exact("PROMPT> ")
        bash.sendline('echo "status:$? outer:${ENVR_SHELL_PACKAGES-unset}"; type envrshelltool || echo GONE')
        bash.expect_exact("status:5 outer:unset")
        bash.expect_exact("GONE")
        bash.expect_exact("PROMPT> ")
    finally:
        bash.sendline("exit")
        bash.close(force=True)


def test_specs_are_named_like_envr_add_names_them_and_may_be_renamed() -> None:
    from envr.errors import EnvrError
    from envr.services.shell import table_of

    assert table_of(["pypi:Cow_Say==6.1", "npm:@scope/pkg@1.0", "hi=path:./x"], "/w") == {
        "cow-say": "pypi:Cow_Say==6.1",
        "pkg": "npm:@scope/pkg@1.0",
        "hi": {"path": "/w/x"},
    }
    for bad, message in [
        (["brew:jq"], "unknown kind"),
        (["jq"], "give a package as"),
        (["pypi:cowsay", "pypi:cowsay==6.1"], "two packages named 'cowsay'"),
        (["pypi:not a requirement!"], "not a valid requirement"),
    ]:
        with pytest.raises(EnvrError, match=message):
            table_of(bad, "/w")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_in_a_hooked_project_shell_it_stacks_and_exit_returns_to_the_project_exactly(
    isolated: Path, env: dict[str, str]
) -> None:
    import pexpect

    project = isolated / "proj"
    project.mkdir()
    (project / "envr.toml").write_text('version = 1\n[env]\nGREETING = "from the project"\n')
    shell_env = {**env, "SHELL": shutil.which("bash") or "bash", "PS1": "PROMPT> ", "TERM": "dumb"}
    bash = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], env=shell_env, cwd=str(isolated), encoding="utf-8", timeout=60
    )
    try:
        bash.expect_exact("PROMPT> ")
        bash.sendline('eval "$(envr hook bash)"')
        bash.expect_exact("PROMPT> ")
        bash.sendline(f"cd {project} && envr allow")
        bash.expect_exact("loaded")
        bash.expect_exact("PROMPT> ")
        snapshot = "env | grep -v -e '^_=' -e '^OLDPWD=' | sort"
        bash.sendline(f"{snapshot} > {isolated}/before")
        bash.expect_exact("PROMPT> ")
        bash.sendline(f"envr shell -p {SPEC}")
        bash.expect_exact("synced envrshelltool")
        bash.sendline("PS1='IN''NER> '")
        bash.expect_exact("INNER> ")
        bash.sendline('echo "inner:$GREETING"; envrshelltool')
        bash.expect_exact("inner:from the project")  # stacked on the project's environment
        bash.expect_exact("hello from the throwaway tool")
        bash.expect_exact("INNER> ")
        bash.sendline("exit")
        bash.expect_exact("PROMPT> ")
        bash.sendline(f"{snapshot} > {isolated}/after; cmp -s {isolated}/before {isolated}/after && echo SAME")
        bash.expect_exact("SAME")  # back in the project's environment, exactly
        bash.expect_exact("PROMPT> ")
    finally:
        bash.sendline("exit")
        bash.close(force=True)
