"""What a project's [env] may not set: envr's own settings and the XDG base dirs (D4), names that steer the shells
(D11; the lists are derived from bash, zsh and fish themselves), values and totals the kernel cannot pass to a
process (D12), and nesting deep enough to crash the parser (D16).

Refusals come from `envr allow`, with file:line:col; the attacks they stop must not happen either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shellkit import Session, Shell

from .helpers import (
    ENVR,
    World,
    assert_no_internal_error,
    assert_one_line_error,
    error_lines,
    location_re,
)

VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def refused_at(world: World, root: Path, name: str, line: int | None = None) -> str | None:
    """None if `envr allow` refused the project with one line naming name and envr.toml:line:col; else why not."""
    r = world.envr("allow", str(root), cwd=root, timeout=60)
    if r.returncode == 0:
        return f"{name}: accepted"
    try:
        text = assert_one_line_error(r, name)
    except AssertionError as e:
        return f"{name}: {e}"
    where = location_re(root / "envr.toml")
    if not where.search(text):
        return f"{name}: no file:line:col in {text!r}"
    if line is not None and f"envr.toml:{line}:" not in text:
        return f"{name}: wrong line (expected {line}) in {text!r}"
    return None


def env_project(world: World, dirname: str, name: str, value: str = '"1"') -> Path:
    return world.project(dirname, f'[env]\nGREETING = "hi"\n{name} = {value}\n')


@contextlib.contextmanager
def shell_of(kind: str, tmp: Path) -> Iterator[tuple[Session, Shell]]:
    session = Session(kind, tmp)
    try:
        yield session, session.shell()
    finally:
        session.close()


# --- D4: envr's own settings and the XDG base dirs ----------------------------------------------------------

STEERING = [
    "ENVR_STORE",
    "ENVR_AUTO_SYNC",
    "ENVR_QUIET",
    "ENVR_DEBUG",
    "ENVR_HTTP_TIMEOUT",
    "ENVR_MAX_UNPACK_BYTES",
    "ENVR_SOMETHING_NEW",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
]


@pytest.mark.parametrize("name", STEERING)
def test_env_cannot_set_envr_settings_or_xdg_base_dirs(world: World, name: str) -> None:
    root = env_project(world, "p", name, '"${ENVR_ROOT}/.hijack"')
    assert refused_at(world, root, name, line=3) is None, refused_at(world, root, name, line=3)


@pytest.mark.parametrize(
    ("name", "toml"),
    [
        ("ENVR_STORE", '[env]\nGREETING = "hi"\n"ENVR_STORE" = "/tmp/x"\n'),
        ("XDG_DATA_HOME", "[env]\nGREETING = 'hi'\n'XDG_DATA_HOME' = '/tmp/x'\n"),
        ("XDG_CACHE_HOME", 'env.GREETING = "hi"\nenv.XDG_CACHE_HOME = "/tmp/x"\n'),
        ("ENVR_AUTO_SYNC", 'env = { GREETING = "hi", ENVR_AUTO_SYNC = "1" }\n'),
        ("ENVR_STORE", '[env]\nGREETING = "hi"\nENVR_STORE = false\n'),
        ("XDG_STATE_HOME", '[env]\nXDG_STATE_HOME = false\nGREETING = "hi"\n'),
    ],
    ids=["quoted-key", "literal-strings", "dotted-keys", "inline-table", "unset-store", "unset-xdg-first"],
)
def test_envr_settings_are_refused_in_every_toml_spelling(world: World, name: str, toml: str) -> None:
    root = world.project("p", toml)
    assert refused_at(world, root, name) is None, refused_at(world, root, name)


def fake_store_clone(world: World) -> Path:
    """D4's first script: a project whose [env] moves ENVR_STORE into the repository, which ships a fake store."""
    real = world.tmp / "realtool"
    real.write_text("#!/bin/sh\necho REAL TOOL\n")
    clone = world.tmp / "clone"
    (clone / "sub").mkdir(parents=True)
    sha = hashlib.sha256(real.read_bytes()).hexdigest()
    (clone / "envr.toml").write_text(
        '[env]\nENVR_STORE = "${ENVR_ROOT}/.envr-store"\n'
        f'[packages]\ntool = {{ url = "{real.as_uri()}", sha256 = "{sha}" }}\n'
    )
    r = world.envr("store", "path", "tool", cwd=clone)
    name = os.path.basename(r.stdout.strip()) or "00000000000000000000000000000000-tool-0"
    fake = clone / ".envr-store"
    (fake / ".valid").mkdir(parents=True)
    (fake / ".valid" / name).touch()
    (fake / name / ".envr" / "bin").mkdir(parents=True)
    (fake / name / ".envr" / "bin" / "tool").write_text("#!/bin/sh\necho FAKE TOOL FROM THE REPOSITORY\n")
    (fake / name / ".envr" / "bin" / "tool").chmod(0o755)
    return clone


def test_a_project_cannot_swap_in_a_store_it_ships(world: World) -> None:
    clone = fake_store_clone(world)
    allow = world.envr("allow", str(clone), cwd=clone)
    assert_no_internal_error(allow)
    script = (
        f'cd {clone} && eval "$({ENVR} export bash 2>/dev/null)"; tool\n'
        f'cd {clone}/sub && eval "$({ENVR} export bash 2>/dev/null)"; tool\n'
        f'cd {clone}/sub && eval "$({ENVR} export bash 2>/dev/null)"; tool\n'
    )
    r = subprocess.run(["bash", "--norc", "-c", script], env=world.env, capture_output=True, text=True, timeout=120)

    assert "FAKE TOOL" not in r.stdout + r.stderr


def nested_clone_with_forged_approval(world: World, data_var: str, data_value: str) -> tuple[Path, Path]:
    """D4's second script: the project re-points the data dir into the repository, which ships an approval
    for a nested project (forged by the attacker with the same clone path, by running `envr allow` there)."""
    clone = world.tmp / "clone"
    marker = world.tmp / "PWNED-nested"
    (clone / "nested" / "src").mkdir(parents=True)
    (clone / "nested" / "src" / "f").write_text("x\n")
    (clone / "envr.toml").write_text(f'[env]\n{data_var} = "{data_value}"\n')
    (clone / "nested" / "envr.toml").write_text(
        f'[env]\nNESTED = "loaded"\n[packages]\nb = {{ path = "./src", build = "touch {marker}; mkdir -p \\"$out/bin\\"" }}\n'
    )
    forged_env = {**world.env}
    value = data_value.replace("${ENVR_ROOT}", str(clone))
    if data_var == "HOME":
        forged_env.pop("XDG_DATA_HOME", None)
    forged_env[data_var] = value
    r = subprocess.run(
        [ENVR, "allow", str(clone / "nested")], env=forged_env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    return clone, marker


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("XDG_DATA_HOME", "${ENVR_ROOT}/.local-data"),
        ("HOME", "${ENVR_ROOT}/fakehome"),
    ],
    ids=["xdg-data-home", "home-when-xdg-is-unset"],
)
def test_a_project_cannot_ship_approvals_for_a_nested_project(world: World, var: str, value: str) -> None:
    """With XDG_DATA_HOME unset, HOME decides the data dir: a project setting HOME steers envr the same way."""
    if var == "HOME":
        world.env.pop("XDG_DATA_HOME")
        (world.home / ".local" / "share").mkdir(parents=True)
    clone, marker = nested_clone_with_forged_approval(world, var, value)
    allow = world.envr("allow", str(clone), cwd=clone)
    assert_no_internal_error(allow)
    script = (
        f'cd {clone} && eval "$({ENVR} export bash 2>/dev/null)"\n'
        f'cd {clone}/nested && eval "$({ENVR} export bash 2>/dev/null)"\n'
        f'eval "$({ENVR} export bash 2>/dev/null)"\n'
        'printf "NESTED=[%s]\\n" "$NESTED"\n'
    )
    r = subprocess.run(["bash", "--norc", "-c", script], env=world.env, capture_output=True, text=True, timeout=120)

    assert "NESTED=[]" in r.stdout, r.stdout + r.stderr
    assert not marker.exists(), "the nested project's build script ran without `envr allow`"


def test_the_users_own_envr_store_change_mid_session_is_honoured(world: World) -> None:
    """Not the attack: the environment (not the project) changing ENVR_STORE is the user's choice."""
    root = world.tmp / "p"
    (root / "tree" / "bin").mkdir(parents=True)
    (root / "tree" / "bin" / "t1").write_text("#!/bin/sh\necho t1\n")
    (root / "tree" / "bin" / "t1").chmod(0o755)
    (root / "envr.toml").write_text('[packages]\na = { path = "./tree" }\n')
    world.allow(root)
    other = world.tmp / "other-store"

    r = world.envr("sync", cwd=root, extra_env={"ENVR_STORE": str(other)})
    changes, _ = world.export_json(root, extra_env={"ENVR_STORE": str(other), "ENVR_AUTO_SYNC": "0"})

    assert r.returncode == 0, r.stderr
    assert str(other) in (changes.get("PATH") or "")


# --- D11: names that steer the shells -----------------------------------------------------------------------


def clean_env(tmp: Path) -> dict[str, str]:
    home = tmp / "shell-home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8", "USER": "tester"}


def lines_of(argv: list[str], env: dict[str, str]) -> list[str]:
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    return [line.strip() for line in r.stdout.splitlines() if line.strip()]


# zsh marks these special only because it reacts to a new value (locale, terminal, man's search path, ~):
# ordinary things for a project to set. They must work, not be refused (see the zsh test below). HOME also
# steers envr's own data dir when XDG_DATA_HOME is unset: test_a_project_cannot_ship_approvals_... covers that.
ZSH_ORDINARY = frozenset({"LANG", "TERM", "MANPATH", "HOME"})

# bash: besides `readonly -p`, what bash runs or re-reads behind the hook's back. The prompt strings expand
# $(...) at every prompt (promptvars); PROMPT_COMMAND is where the hook lives; BASH_ENV/ENV run in every
# non-interactive shell; IFS changes the hook's word splitting; POSIXLY_CORRECT and BASH_COMPAT change the
# running shell's mode; TMOUT logs the shell out; the dynamic variables lose their meaning when assigned, so
# the revert cannot restore them.
BASH_STEERING = frozenset(
    {
        "PROMPT_COMMAND",
        "PS0",
        "PS1",
        "PS2",
        "PS4",
        "BASH_ENV",
        "ENV",
        "IFS",
        "POSIXLY_CORRECT",
        "BASH_COMPAT",
        "BASH_XTRACEFD",
        "TMOUT",
        "BASH_ARGV0",
        "BASH_COMMAND",
        "BASH_SUBSHELL",
        "BASHPID",
        "FUNCNAME",
        "LINENO",
        "RANDOM",
        "SRANDOM",
        "SECONDS",
        "EPOCHSECONDS",
        "EPOCHREALTIME",
        "HISTCMD",
        "DIRSTACK",
        "GROUPS",
    }
)
# fish: variables fish itself turns into PATH entries or function/completion lookups.
FISH_HOOKS = frozenset({"fish_user_paths", "fish_function_path", "fish_complete_path"})


def zsh_names(tmp: Path) -> set[str]:
    env = clean_env(tmp)
    special = lines_of(["zsh", "-fc", "print -l ${(k)parameters[(R)*special*]}"], env)
    readonly = lines_of(["zsh", "-fc", "print -l ${(k)parameters[(R)*readonly*]}"], env)
    # the hook arrays zsh runs around every prompt, and zsh/parameter's magic arrays the findings met
    hooks = {"precmd_functions", "preexec_functions", "chpwd_functions"}
    magic = {"funcstack", "signals", "options", "functions", "aliases", "commands"}
    names = set(special) | set(readonly) | hooks | magic
    return {n for n in names if VALID_NAME.fullmatch(n)} - ZSH_ORDINARY


def bash_names(tmp: Path) -> set[str]:
    declared = lines_of(["bash", "--norc", "--noprofile", "-c", "readonly -p"], clean_env(tmp))
    readonly = {re.split(r"[= ]", line.split(" ", 2)[2])[0] for line in declared if line.startswith("declare")}
    return {n for n in readonly | BASH_STEERING if VALID_NAME.fullmatch(n)}


def fish_names(tmp: Path) -> set[str]:
    env = clean_env(tmp)
    own = set(lines_of(["fish", "--no-config", "-c", "set -n"], env)) - set(env)
    # every name fish refuses to set (read-only), tried one by one in one fish
    probe = "for n in $argv; if not set -g $n x 2>/dev/null; echo $n; end; end"
    candidates = sorted(own | set(env) | {"umask", "status_generation", "fish_killring", "PWD", "SHLVL"})
    readonly = set(lines_of(["fish", "--no-config", "-c", probe, *candidates], env))
    return {n for n in own | readonly | FISH_HOOKS if VALID_NAME.fullmatch(n)}


def refused_names(world: World, names: set[str]) -> list[str]:
    """Every name a project may set although it should not: `envr allow` of `[env] NAME = "1"` accepted, or
    refused without one line naming it and file:line:col."""

    def one(name: str) -> str | None:
        root = env_project(world, f"proj-{name}", name)
        return refused_at(world, root, name, line=3)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return sorted(p for p in pool.map(one, sorted(names)) if p is not None)


def test_zsh_special_and_read_only_parameters_are_refused(world: World) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    names = zsh_names(world.tmp)
    assert {"LINENO", "HISTCMD", "parameters", "precmd_functions"} <= names, names  # the derivation works
    assert refused_names(world, names) == []


def test_bash_read_only_and_hook_variables_are_refused(world: World) -> None:
    names = bash_names(world.tmp)
    assert {"BASHOPTS", "EUID", "PROMPT_COMMAND"} <= names, names
    assert refused_names(world, names) == []


def test_fish_read_only_and_hook_variables_are_refused(world: World) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    names = fish_names(world.tmp)
    assert {"status", "fish_pid", "status_generation", "umask"} <= names, names
    assert refused_names(world, names) == []


def allow_in(sh: Shell, root: Path) -> None:
    res = sh.envr(f"allow {sh.q(root)}")
    assert "internal error" not in res.out


def test_prompt_command_in_a_project_cannot_take_the_bash_hook_away(tmp_path: Path) -> None:
    """T16: leaving the project must still revert it."""
    with shell_of("bash", tmp_path) as (session, sh):
        root = session.work / "p"
        root.mkdir()
        (root / "envr.toml").write_text('[env]\nGREETING = "hi"\nPROMPT_COMMAND = "true"\n')
        allow_in(sh, root)
        sh.cd(root)
        sh.cd(session.work)
        sh.enter()
        assert sh.var("GREETING") is None, "leaving the project did not revert GREETING"


@pytest.mark.parametrize(
    "name", ["LINENO", "HISTCMD", "parameters", "funcstack", "signals", "options", "precmd_functions"]
)
def test_zsh_specials_in_a_project_cannot_break_the_revert(tmp_path: Path, name: str) -> None:
    """T17: zsh's eval must not abort halfway; leaving reverts everything; no error line from zsh."""
    with shell_of("zsh", tmp_path) as (session, sh):
        root = session.work / "z"
        root.mkdir()
        (root / "envr.toml").write_text(f'[env]\nGREETING = "hi"\n{name} = "1"\n')
        allow_in(sh, root)
        entering = sh.cd(root)
        leaving = sh.cd(session.work)
        sh.enter()
        assert sh.var("GREETING") is None, "leaving the project did not revert GREETING"
        noise = [line for line in entering.hook + leaving.hook if not line.startswith("envr:")]
        assert noise == [], noise


@pytest.mark.parametrize("name", ["status_generation", "fish_killring", "umask", "fish_user_paths"])
def test_fish_read_only_or_hook_variables_in_a_project_give_no_shell_errors(tmp_path: Path, name: str) -> None:
    """T18: each load printed fish's own error line; fish_user_paths changes PATH behind envr's back."""
    with shell_of("fish", tmp_path) as (session, sh):
        root = session.work / "f"
        root.mkdir()
        (root / "envr.toml").write_text(f'[env]\nGREETING = "hi"\n{name} = "/tmp/x"\n')
        before = sh.path()
        allow_in(sh, root)
        entering = sh.cd(root)
        leaving = sh.cd(session.work)
        noise = [line for line in entering.hook + leaving.hook if not line.startswith("envr:")]
        assert noise == [], noise
        assert "/tmp/x" not in sh.path() or "/tmp/x" in before
        assert sh.var("GREETING") is None


def test_ordinary_zsh_specials_still_load_and_revert(tmp_path: Path) -> None:
    """LANG, TERM, MANPATH: zsh reacts to them, but they are ordinary project settings; not to be refused."""
    with shell_of("zsh", tmp_path) as (session, sh):
        root = session.work / "o"
        root.mkdir()
        (root / "envr.toml").write_text('[env]\nGREETING = "hi"\nLANG = "C.UTF-8"\nTERM = "dumb"\nMANPATH = "/x"\n')
        allow_in(sh, root)
        entering = sh.cd(root)
        assert sh.var("MANPATH") == "/x" and sh.var("GREETING") == "hi", entering
        leaving = sh.cd(session.work)
        assert sh.var("MANPATH") is None and sh.var("GREETING") is None
        assert [line for line in entering.hook + leaving.hook if not line.startswith("envr:")] == []


# --- D12: what the kernel cannot pass ----------------------------------------------------------------------

LIMIT_RE = re.compile(r"128\s?Ki?B|131[,_ ]?072|128\s?kB|128K", re.IGNORECASE)


@pytest.mark.parametrize(
    "value",
    [
        "A" * 200_000,
        "A" * 131_072,
        "\u20ac" * 70_000,  # 70,000 characters, 210,000 bytes: the limit is in bytes
    ],
    ids=["200k-ascii", "exactly-128KiB", "multibyte-210KB"],
)
def test_a_value_over_128_kib_is_refused_naming_the_variable_and_the_limit(world: World, value: str) -> None:
    root = world.project("p", f'[env]\nGREETING = "hi"\nBIG = "{value}"\n')

    r = world.envr("allow", str(root), cwd=root)

    line = assert_one_line_error(r, "BIG")
    assert LIMIT_RE.search(line), f"the limit is not named: {line[:300]!r}"
    assert location_re(root / "envr.toml").search(line), line[:300]
    assert len(line) < 2000, "the error line must not carry the value"


def test_a_value_under_the_limit_still_loads(world: World) -> None:
    root = world.project("p", f'[env]\nBIG = "{"A" * 100_000}"\n')
    world.allow(root)

    changes, _ = world.export_json(root)

    assert len(changes.get("BIG") or "") == 100_000


def test_a_project_whose_total_environment_is_too_big_is_refused(world: World) -> None:
    body = "".join(f'V{i} = "{"A" * 100_000}"\n' for i in range(30))  # 3 MB, each value under 128 KiB
    root = world.project("p", "[env]\n" + body)

    r = world.envr("allow", str(root), cwd=root)

    line = assert_one_line_error(r, "envr.toml")
    assert len(line) < 2000


def test_a_value_that_grows_past_the_limit_at_activation_is_not_exported(world: World) -> None:
    """${NAME} expands at activation, so allow cannot know; the prompt must still not export a value execve
    refuses (one line instead, and no internal error)."""
    root = world.project("p", '[env]\nGREETING = "hi"\nBIG = "${HUGE}${HUGE}"\n')
    world.allow(root)

    r = world.envr("export", "json", cwd=root, extra_env={"HUGE": "A" * 100_000})

    assert_no_internal_error(r)
    changes = json.loads(r.stdout) if r.stdout.strip() else {}
    too_long = {k: len(v) for k, v in changes.items() if v is not None and len(f"{k}={v}".encode()) >= 131_072}
    assert too_long == {}
    assert len(error_lines(r.stderr)) <= 1


def test_a_huge_value_cannot_leave_bash_unable_to_run_commands(tmp_path: Path) -> None:
    """B4: with a 200 kB value loaded, every execve failed with E2BIG, including the hook's own core."""
    with shell_of("bash", tmp_path) as (session, sh):
        root = session.work / "p"
        root.mkdir()
        (root / "envr.toml").write_text(f'[env]\nGREETING = "hi"\nBIG = "{"A" * 200_000}"\n')
        allow_in(sh, root)
        sh.cd(root)
        inside = sh.run("/bin/echo still-running")
        sh.cd(session.work)
        sh.enter()
        assert "still-running" in inside.out, inside.out[-300:]
        assert sh.var("BIG") is None and sh.var("GREETING") is None


# --- D16: deep nesting --------------------------------------------------------------------------------------

DEEP = {
    "arrays": "[env]\nX = " + "[" * 5000 + "]" * 5000 + "\n",
    "inline-tables": "[env]\nX = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n",
    "mixed": "[env]\nX = " + "[{a = " * 1500 + "1" + "}]" * 1500 + "\n",
    "in-packages": "[packages]\nt = { url = " + "[" * 5000 + "]" * 5000 + " }\n",
    "after-valid-lines": '[env]\nA = "1"\nB = "2"\n\nC = ' + "[" * 4000 + "]" * 4000 + "\n",
}


@pytest.mark.parametrize("case", list(DEEP))
def test_deep_nesting_in_envr_toml_is_refused_with_a_location(world: World, case: str) -> None:
    root = world.project("d", DEEP[case])

    r = world.envr("allow", str(root), cwd=root)

    line = assert_one_line_error(r)
    assert location_re(root / "envr.toml").search(line), line[:300]


@pytest.mark.parametrize("deep", ["arrays", "inline-tables"])
def test_deep_nesting_in_envr_lock_is_one_line_naming_the_lock(world: World, deep: str) -> None:
    root = world.tmp / "r"
    (root / "tree").mkdir(parents=True)
    (root / "tree" / "f").write_text("x\n")
    (root / "envr.toml").write_text('[env]\nX = "1"\n[packages]\na = { path = "./tree" }\n')
    nest = "[" * 5000 + "]" * 5000 if deep == "arrays" else "{a = " * 2000 + "1" + "}" * 2000
    (root / "envr.lock").write_text(f"version = 1\nx = {nest}\n")

    check = world.envr("lock", "--check", cwd=root)
    assert_one_line_error(check, "envr.lock")
    allow = world.envr("allow", str(root), cwd=root)
    assert_no_internal_error(allow)
    prompt = world.envr("export", "json", cwd=root)
    assert_no_internal_error(prompt)
    assert len(error_lines(prompt.stderr)) == 1 and "envr.lock" in prompt.stderr, prompt.stderr
