"""D4 and D11: names a project's [env] may not set, with the lists derived from the installed shells themselves.

envr keeps its lists as frozensets (src/envr/project/names.py) for speed; these tests ask bash, zsh and fish
(and their manuals, where installed) which names they keep for themselves, so the lists cannot drift from the
shells users run. Every derived name must be refused, unless names.ALLOWED lists it with a reason.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from envr.project import names
from envr_testing import run_envr
from envr_world import allow_error, project, world

VALID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAN = Path("/usr/share/man/man1")


# zsh marks these special only once they are set: set them all, so the derivation sees them (the values do not
# matter). They come from zshparam(1).
def split(text: str) -> list[str]:
    return text.split()


SET_FOR_ZSH = split(
    "LANG LC_ALL LC_COLLATE LC_CTYPE LC_MESSAGES LC_NUMERIC LC_TIME TERM TERMINFO TERMINFO_DIRS POSTEDIT "
    "RPROMPT RPROMPT2 RPS1 RPS2 ZLE_RPROMPT_INDENT HISTFILE ZDOTDIR STTY TMOUT PERIOD PROMPT_EOL_MARK"
)
# What bash(1) lists under "Shell Variables", for machines without man pages (bash 5.2; 5.3 adds a few more).
BASH_MANUAL = split(
    "_ BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND BASH_COMPAT "
    "BASH_ENV BASH_EXECUTION_STRING BASH_LINENO BASH_LOADABLES_PATH BASH_REMATCH BASH_SOURCE BASH_SUBSHELL "
    "BASH_VERSINFO BASH_VERSION BASH_XTRACEFD CDPATH CHILD_MAX COLUMNS COMPREPLY COMP_CWORD COMP_KEY COMP_LINE "
    "COMP_POINT COMP_TYPE COMP_WORDBREAKS COMP_WORDS COPROC DIRSTACK EMACS ENV EPOCHREALTIME EPOCHSECONDS EUID "
    "EXECIGNORE FCEDIT FIGNORE FUNCNAME FUNCNEST GLOBIGNORE GROUPS HISTCMD HISTCONTROL HISTFILE HISTFILESIZE "
    "HISTIGNORE HISTSIZE HISTTIMEFORMAT HOME HOSTFILE HOSTNAME HOSTTYPE IFS IGNOREEOF INPUTRC INSIDE_EMACS LANG "
    "LC_ALL LC_COLLATE LC_CTYPE LC_MESSAGES LC_NUMERIC LC_TIME LINENO LINES MACHTYPE MAIL MAILCHECK MAILPATH "
    "MAPFILE OLDPWD OPTARG OPTERR OPTIND OSTYPE PATH PIPESTATUS POSIXLY_CORRECT PPID PROMPT_COMMAND "
    "PROMPT_DIRTRIM PS0 PS1 PS2 PS3 PS4 PWD RANDOM READLINE_ARGUMENT READLINE_LINE READLINE_MARK READLINE_POINT "
    "REPLY SECONDS SHELL SHELLOPTS SHLVL SRANDOM TIMEFORMAT TMOUT TMPDIR UID auto_resume histchars"
)
ZSH_HOOKS = split("chpwd periodic precmd preexec zshaddhistory zshexit zsh_directory_name")


def bare_env(tmp: Path) -> dict[str, str]:
    home = tmp / "shell-home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin"}


def words(argv: list[str], env: dict[str, str]) -> set[str]:
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    return {w for line in r.stdout.splitlines() for w in line.split()}


def man_entries(page: str, start: str, end: str | None = None) -> set[str] | None:
    """Item names (`.TP` headers, outside nested lists) of a man page's section; None without the page."""
    path = MAN / f"{page}.1.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    text = text[text.index(start) :]
    if end is not None and end in text:
        text = text[: text.index(end)]
    found, depth, item = set(), 0, False
    head = re.compile(r"^(?:\.B |\\fB)([A-Za-z_][A-Za-z0-9_]*)(?:\\fP)?((\s+<[SZ]>)*)\s*$")
    for line in text.splitlines():
        depth += line.startswith(".RS") - line.startswith(".RE")
        if line.startswith(".TP"):
            item = True
        elif not line.startswith(".PD"):  # the line after .TP (and its .PD) is the item's name
            m = head.match(line)
            if item and m and depth == 0:
                found.add(m.group(1))
            item = False
    return found


def bash_names(tmp: Path) -> set[str]:
    env = bare_env(tmp)
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", "readonly -p"], env=env, capture_output=True, text=True)
    # declare -r NAME="value", declare -ir NAME="0", ...
    declared = {line.split()[2].split("=")[0] for line in r.stdout.splitlines() if line.startswith("declare ")}
    own = words(["bash", "--norc", "--noprofile", "-c", "compgen -v"], env)
    own |= words(["bash", "--norc", "--noprofile", "-i", "-c", "compgen -v"], env)
    manual = man_entries("bash", ".SS Shell Variables", ".SS Arrays")
    return (declared | own | set(BASH_MANUAL) | (manual or set())) - set(env) | {"HOME", "PATH"}


def zsh_names(tmp: Path) -> set[str]:
    env = {**bare_env(tmp), **{name: "x" for name in SET_FOR_ZSH}}
    load_all = (
        "cd $module_path[1] && for m in **/*.so(N); do m=zsh/${${m#zsh/}%.so}; "
        "[[ $m == zsh/(example|newuser) ]] || zmodload $m 2>/dev/null; done; cd /; "
    )
    listing = "print -rl -- ${(k)parameters[(R)*special*]} ${(k)parameters[(R)*readonly*]}"
    special = words(["zsh", "-f", "-c", load_all + listing], env)
    # everything a bare zsh defines for itself, interactive or not
    plain = words(["zsh", "-f", "-c", "print -rl -- ${(k)parameters}"], bare_env(tmp))
    plain |= words(["zsh", "-f", "-i", "-c", "print -rl -- ${(k)parameters}"], bare_env(tmp))
    manual = man_entries("zshparam", '.SH "PARAMETERS SET BY THE SHELL"') or set()
    hooks = man_entries("zshmisc", '.SS "Hook Functions"', '.SS "Trap Functions"') or set(ZSH_HOOKS)
    hooks |= {"zsh_directory_name"}  # documented in zshexpn(1)
    derived = special | plain | manual | {f"{h}_functions" for h in hooks}
    return {n for n in derived if VALID.fullmatch(n)} - (set(bare_env(tmp)) - {"HOME", "PATH"})


def fish_names(tmp: Path) -> set[str]:
    env = bare_env(tmp)
    own = words(["fish", "--no-config", "-c", "set -n"], env) | words(
        ["fish", "--no-config", "-i", "-c", "set -n"], env
    )
    # what fish refuses to set (read-only), tried in one fish process
    probe = "for n in $argv; if not set -g $n x 2>/dev/null; echo $n; end; end"
    candidates = sorted(own | {"umask", "status_generation", "fish_killring", "PWD", "SHLVL", "version", "history"})
    readonly = words(["fish", "--no-config", "-c", probe, *candidates], env)
    return {n for n in own | readonly if VALID.fullmatch(n)} - (set(env) - {"HOME", "PATH"})


def unrefused(derived: set[str]) -> list[str]:
    return sorted(n for n in derived if n not in names.ALLOWED and names.refusal(n) is None)


def need(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")


def test_every_name_bash_keeps_for_itself_is_refused(tmp_path: Path) -> None:
    derived = bash_names(tmp_path)
    assert {"BASHOPTS", "EUID", "PROMPT_COMMAND", "LINENO", "HISTFILESIZE"} <= derived  # the derivation works
    assert unrefused(derived) == []


def test_every_name_zsh_keeps_for_itself_is_refused(tmp_path: Path) -> None:
    need("zsh")
    derived = zsh_names(tmp_path)
    assert {"LINENO", "HISTCMD", "parameters", "funcstack", "signals", "options", "precmd_functions"} <= derived
    assert {"USERNAME", "STTY", "ZDOTDIR", "RPROMPT", "mapfile", "chpwd_functions"} <= derived
    assert unrefused(derived) == []


def test_every_name_fish_keeps_for_itself_is_refused(tmp_path: Path) -> None:
    need("fish")
    derived = fish_names(tmp_path)
    assert {"status", "fish_pid", "status_generation", "fish_killring", "umask", "fish_function_path"} <= derived
    assert unrefused(derived) == []


def test_each_allowed_name_is_one_the_shells_know_and_has_a_reason() -> None:
    """ALLOWED is a list of deliberate exceptions, not a place for arbitrary names."""
    for name, why in names.ALLOWED.items():
        assert name in names.BASH | names.ZSH | names.FISH, name
        assert len(why) >= 10, name
        assert names.refusal(name) is None, name


@pytest.mark.parametrize("name", ["ENVR_STORE", "ENVR_AUTO_SYNC", "ENVR_QUIET", "ENVR_ANYTHING", "ENVR_ROOT"])
def test_every_envr_setting_is_refused_as_envrs_own(tmp_path: Path, name: str) -> None:
    msg = allow_error(tmp_path, f'[env]\nGREETING = "hi"\n{name} = "${{ENVR_ROOT}}/x"\n')
    assert f"envr.toml:3:1: envr must not set {name}: envr reads ENVR_* for itself" in msg


@pytest.mark.parametrize("name", sorted(names.XDG_BASE_DIRS))
def test_the_xdg_base_dirs_are_refused_in_every_toml_spelling(tmp_path: Path, name: str) -> None:
    for toml, where in (
        (f'[env]\nGREETING = "hi"\n{name} = "/tmp/x"\n', ":3:1:"),
        (f"[env]\nGREETING = 'hi'\n'{name}' = '/tmp/x'\n", ":3:1:"),
        (f'env.GREETING = "hi"\nenv.{name} = false\n', ":2:1:"),
        (f'[env]\n"{name}" = false\nGREETING = "hi"\n', ":2:1:"),
        (f'env = {{ GREETING = "hi", {name} = "x" }}\n', ":1:26:"),
    ):
        msg = allow_error(tmp_path, toml)
        assert where in msg and f"envr must not set {name}: envr reads it for itself" in msg, msg


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("PROMPT_COMMAND", "runs it at every prompt"),
        ("precmd_functions", "runs it at every prompt"),
        ("PS1", "running any $(...)"),
        ("BASH_ENV", "startup code"),
        ("LINENO", "bash and zsh keep it for themselves"),
        ("status_generation", "fish keeps it for itself"),
        ("fish_user_paths", "fish reads fish_*"),
        ("HISTFILESIZE", "bash keeps it"),
        ("_envr_pwd", "the hook keeps its own state"),
        ("PATH", "use [path] prepend/append"),
    ],
)
def test_shell_names_are_refused_saying_why(tmp_path: Path, name: str, why: str) -> None:
    msg = allow_error(tmp_path, f'[env]\nGREETING = "hi"\n{name} = "1"\n')
    assert f"envr.toml:3:1: envr must not set {name}: " in msg and why in msg, msg


def test_the_deliberately_allowed_names_load(tmp_path: Path) -> None:
    body = "".join(
        f'{n} = "{v}"\n' for n, v in [("HOME", "/h"), ("LC_ALL", "C"), ("TERM", "dumb"), ("HOSTNAME", "0.0.0.0")]
    )
    root = project(tmp_path, "[env]\n" + body + 'MANPATH = "/m"\nTMPDIR = "/t"\n')
    env = world(tmp_path)
    r = run_envr("allow", str(root), cwd=root, env=env)
    assert r.returncode == 0, r.stderr
