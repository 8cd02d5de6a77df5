"""Shell completion: `envr completion bash|zsh|fish`, typer's --show/--install-completion, and what is completed
(commands, options, the project's package names, generation numbers, shells), tested through each shell's
own machinery: bash's COMP_WORDS + the registered function, fish's `complete -C`, and a real Tab press in
interactive bash, zsh and fish. Completing reads files only: nothing is resolved, built or written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli_helpers import BIN, ENVR, ok, project, run_envr, snapshot
from shellkit import SYSTEM_PATH, Session, Shell

TEXT = """\
[env]
GREETING = "hello"
[packages]
mytools = { path = "./tools" }
daytool = "pypi:daytool==1.0"
"""


def env_for(isolated: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "_ENVR", "COMP_"))}
    env.update(PATH=f"{BIN}:{SYSTEM_PATH}", UV_CACHE_DIR=str(isolated / "uv-cache"), UV_NO_INDEX="1")
    return env


def complete_bash(words: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """What envr answers to bash's completion request for the command line `words` (the cursor at its end)."""
    cword = len(words.split(" ")) - 1
    full = {**env, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_ENVR_COMPLETE": "complete_bash", "PWD": str(cwd)}
    r = subprocess.run([ENVR], cwd=cwd, env=full, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r
    return [line for line in r.stdout.splitlines() if line]  # nothing to offer is one empty line


def with_generations(isolated: Path) -> tuple[Path, dict[str, str]]:
    env = env_for(isolated)
    g = isolated / "gens"
    g.mkdir()
    (g / "envr.toml").write_text('[env]\nA = "1"\n')
    ok(run_envr("allow", cwd=g, env=env))
    ok(run_envr("sync", cwd=g, env=env))
    (g / "envr.toml").write_text('[env]\nA = "2"\n')
    ok(run_envr("allow", cwd=g, env=env))
    ok(run_envr("sync", cwd=g, env=env))
    return g, env


def test_what_is_completed(isolated: Path) -> None:
    env = env_for(isolated)
    p = project(isolated / "p", TEXT)
    commands = complete_bash("envr ", p, env)
    for name in ("hook", "ls", "outdated", "edit", "prompt", "completion", "store", "profile", "switch-generation"):
        assert name in commands
    assert complete_bash("envr out", p, env) == ["outdated"]
    assert complete_bash("envr remove ", p, env) == ["mytools", "daytool"]
    assert complete_bash("envr remove mytools ", p, env) == ["daytool"]  # offered once
    assert complete_bash("envr store path d", p, env) == ["daytool"]
    assert complete_bash("envr lock --upgrade ", p, env) == ["mytools", "daytool"]
    assert complete_bash("envr outdated ", p, env) == ["mytools", "daytool"]
    assert complete_bash(f"envr remove --project {p} ", isolated, env) == ["mytools", "daytool"]
    assert complete_bash("envr remove ", isolated, env) == []  # no project: nothing (bash falls back to files)
    assert complete_bash("envr hook ", p, env) == ["bash", "zsh", "fish"]
    assert complete_bash("envr completion z", p, env) == ["zsh"]
    assert complete_bash("envr export ", p, env) == ["bash", "zsh", "fish", "json", "dotenv", "github"]
    assert complete_bash("envr lock --", p, env) == ["--check", "--upgrade", "--project", "--trust", "--help"]
    assert "--long" in complete_bash("envr ls --", p, env)

    g, env = with_generations(isolated)
    assert complete_bash("envr switch-generation ", g, env) == ["2", "1"]  # newest first
    assert complete_bash("envr generations --delete ", g, env) == ["2", "1"]
    assert complete_bash("envr generations --delete 1 ", g, env) == ["2"]


def test_completion_reads_and_never_builds_or_writes(isolated: Path) -> None:
    env = env_for(isolated)
    p = project(isolated / "p", TEXT)  # daytool is neither locked nor realised, and no index is reachable
    before = snapshot(isolated)
    for words in ("envr remove ", "envr store path ", "envr lock --upgrade ", "envr switch-generation ", "envr "):
        complete_bash(words, p, env)
    assert snapshot(isolated) == before
    assert not (isolated / "store").exists() and not (isolated / "uv-cache").exists()


def test_the_bash_script_registers_a_function_bash_calls(isolated: Path) -> None:
    env = env_for(isolated)
    p = project(isolated / "p", TEXT)
    script = ok(run_envr("completion", "bash", cwd=p, env=env)).stdout
    probe = (
        f"{script}\n"
        "complete -p envr\n"
        'COMP_WORDS=(envr store path ""); COMP_CWORD=3; COMPREPLY=()\n'
        '_envr_completion envr "" path\n'
        'printf "<%s>\\n" "${COMPREPLY[@]}"\n'
    )
    r = subprocess.run(
        ["bash", "--norc", "-c", probe], cwd=p, env={**env, "PWD": str(p)}, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == ["complete -o default -F _envr_completion envr", "<mytools>", "<daytool>"]


def test_fish_completes_with_its_own_complete_command(isolated: Path) -> None:
    env = env_for(isolated)
    p = project(isolated / "p", TEXT)
    probe = "envr completion fish | source; complete -C 'envr remove '; complete -C 'envr hook f'"
    r = subprocess.run(
        ["fish", "--no-config", "-c", probe],
        cwd=p,
        env={**env, "PWD": str(p)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == ["daytool", "mytools", "fish"]  # fish sorts them


INSTALLED = {
    "bash": (".bash_completions/envr.sh", ".bashrc", "source '{file}'"),
    "zsh": (".zfunc/_envr", ".zshrc", "fpath+=~/.zfunc; autoload -Uz compinit; compinit"),
    "fish": (".config/fish/completions/envr.fish", None, None),
}
NO_RC = {"bash": ["bash", "--norc"], "zsh": ["zsh", "-f"], "fish": ["fish", "--no-config"]}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_and_install_completion_from_each_shell(isolated: Path, shell: str) -> None:
    """typer detects the shell it runs in (`; :` keeps the shell from exec-ing envr in its place)."""
    env = {**env_for(isolated), "HOME": str(isolated / "home")}
    script = ok(run_envr("completion", shell, cwd=isolated, env=env)).stdout

    def in_shell(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*NO_RC[shell], "-c", f"{line}; :"], cwd=isolated, env=env, capture_output=True, text=True, timeout=60
        )

    r = in_shell("envr --show-completion")
    assert r.returncode == 0 and r.stdout == script, r
    r = in_shell("envr --install-completion")
    assert r.returncode == 0 and f"{shell} completion installed" in r.stdout, r
    file, rc, line = INSTALLED[shell]
    installed = isolated / "home" / file
    assert installed.read_text().strip() == script.strip()
    if rc is not None:
        assert line is not None
        assert line.format(file=installed) in (isolated / "home" / rc).read_text()


def test_completion_of_an_unknown_shell_is_one_line(isolated: Path) -> None:
    r = run_envr("completion", "tcsh", cwd=isolated)
    assert r.returncode == 1 and r.stderr == "envr: unknown shell 'tcsh'; envr completes bash, zsh, fish\n"


SETUP = {
    "bash": "source <(envr completion bash)",
    "zsh": "autoload -Uz compinit && compinit -u -D && source <(envr completion zsh)",
    "fish": "envr completion fish | source",
}


def tab(sh: Shell, typed: str, shows: str) -> str:
    """Type `typed`, press Tab, wait until `shows` is on screen, then echo the command line as it now stands."""
    n = next(sh._ids)
    sh.child.send(typed + "\t")
    sh.child.expect_exact(shows)
    sh.child.sendcontrol("a")
    sh.child.send(f"__ts {n}; echo ")
    sh.child.sendcontrol("e")
    sh.child.send(f"; __te {n}\r")
    sh.child.expect_exact(f"<<S:{n}>>\r\n")
    sh.child.expect_exact(f"<<E:{n}>>\r\n")
    out = sh.child.before.replace("\r\n", "\n")
    sh.run("true")  # back at a clean prompt
    return out.strip()


@pytest.mark.parametrize("kind", ["bash", "zsh", "fish"])
def test_tab_in_an_interactive_shell(tmp_path: Path, kind: str) -> None:
    session = Session(kind, tmp_path)
    try:
        sh = session.shell(hook=False, extra_env={"PATH": f"{BIN}:{SYSTEM_PATH}"})
        p = project(session.work / "p", TEXT)
        res = sh.run(SETUP[kind])
        assert res.out == "", res
        sh.cd(p)
        assert tab(sh, "envr outd", "ated") == "envr outdated"
        assert tab(sh, "envr remove myt", "ools") == "envr remove mytools"
        assert tab(sh, "envr store path day", "tool") == "envr store path daytool"
        assert tab(sh, "envr hook zs", "h") == "envr hook zsh"
    finally:
        session.close()
