"""Real interactive bash, zsh and fish, driven through a pty with pexpect, with the envr hook installed.

Every shell starts without the user's rc files, with HOME and the XDG directories in a fresh tmp dir, a fixed
prompt, and two helper functions that print numbered markers around each command line. The markers (not the
echo of the typed line, which line editors redraw at will) delimit what a command printed, and what appeared
after it and before the next prompt: the hook's output. A command's status survives both markers, so `$?`
(fish `$status`) can be read back after a prompt.

Values are read back byte for byte through files: `env -0` for the exported environment, printf / string join
for the shell's own view, which also tells an unset variable from an empty one.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pexpect

BIN = Path(sys.executable).parent
ENVR = BIN / "envr"
SHELLS = ("bash", "zsh", "fish")
TIMEOUT = 10
PROMPT = "@@envr-test-prompt@@ "
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# Variables a shell changes by itself on cd or per command; everything else must stay as envr leaves it.
VOLATILE = frozenset({"PWD", "OLDPWD", "_"})

ARGV = {
    "bash": ["bash", "--norc", "--noprofile", "-i"],
    "zsh": ["zsh", "-f", "-i"],
    "fish": ["fish", "--no-config", "-i"],
}

# Fixed prompt, no history file, no bracketed paste, no zsh PROMPT_SP filler, no fish title/suggestions, and the
# two marker functions, each of which keeps the status it was called with.
SETUP = {
    "bash": [
        f"PS1='{PROMPT}'; PS2=''; PROMPT_COMMAND=''; unset HISTFILE; bind 'set enable-bracketed-paste off'",
        "__ts() { local s=$?; printf '<<S:%s>>\\n' \"$1\"; return $s; }",
        "__te() { local s=$?; printf '<<E:%s>>\\n' \"$1\"; return $s; }",
    ],
    "zsh": [
        f"PROMPT='{PROMPT}'; RPROMPT=''; PS2=''; unsetopt prompt_sp prompt_cr; unset zle_bracketed_paste HISTFILE",
        "__ts() { local s=$?; printf '<<S:%s>>\\n' \"$1\"; return $s; }",
        "__te() { local s=$?; printf '<<E:%s>>\\n' \"$1\"; return $s; }",
    ],
    "fish": [
        f"function fish_prompt; printf '%s' '{PROMPT}'; end; function fish_right_prompt; end",
        "function fish_title; end; function fish_mode_prompt; end; set -g fish_autosuggestion_enabled 0",
        "function __ts; set -l s $status; printf '<<S:%s>>\\n' $argv[1]; return $s; end",
        "function __te; set -l s $status; printf '<<E:%s>>\\n' $argv[1]; return $s; end",
    ],
}

# The hook's own names, per shell.
HOOK_FUNCTION = {"bash": "_envr_hook", "zsh": "_envr_hook", "fish": "__envr_hook"}


def quote(kind: str, value: str) -> str:
    """value as one word of kind's syntax (the tests' own quoting, independent of envr's)."""
    if kind == "fish":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + value.replace("'", "'\"'\"'") + "'"


def toml_string(value: str) -> str:
    """A TOML basic string holding value exactly: everything but plain printable ASCII is \\u-escaped."""
    out = []
    for ch in value:
        if ch in '"\\' or not (" " <= ch <= "~"):
            out.append(f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def write_project(
    root: Path,
    env: Mapping[str, str | bool] | None = None,
    prepend: list[str] | None = None,
    append: list[str] | None = None,
) -> Path:
    """Write root/envr.toml ([env] values: a string, or False to unset) and return its path."""
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    if env:
        lines.append("[env]")
        for name, value in env.items():
            lines.append(f"{name} = {'false' if value is False else toml_string(str(value))}")
    if prepend is not None or append is not None:
        lines.append("[path]")
        if prepend is not None:
            lines.append("prepend = [" + ", ".join(toml_string(p) for p in prepend) + "]")
        if append is not None:
            lines.append("append = [" + ", ".join(toml_string(p) for p in append) + "]")
    file = root / "envr.toml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


def age(root: Path, seconds: float = 60) -> None:
    """Move the mtime of every file under root into the past, so none counts as just modified ("racy")."""
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        past = st.st_mtime_ns - int(seconds * 1e9)
        os.utime(path, ns=(past, past), follow_symlinks=False)


def hook_script(kind: str, python: Path) -> str:
    """What `envr hook KIND` prints, but calling the core through python (a wrapper, a copy, a missing file)."""
    from envr.shells.hooktext import hook_text

    return hook_text(kind, str(python))


@dataclass
class Result:
    out: str  # what the command printed (stdout and stderr), \r\n turned into \n
    hook: list[str]  # the lines printed after the command and before the next prompt: the hook's messages
    raw: str  # what the terminal got after the command and before the prompt, unfiltered


@dataclass
class Shell:
    kind: str
    tmp: Path
    env: dict[str, str]
    child: pexpect.spawn = field(init=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def start(self, cwd: Path) -> Shell:
        argv = ARGV[self.kind]
        self.child = pexpect.spawn(
            argv[0],
            argv[1:],
            env=self.env,
            cwd=str(cwd),
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(40, 500),
            timeout=TIMEOUT,
        )
        # Nothing here relies on the echo of typed input, so pexpect's pauses around it are only lost time.
        self.child.delaybeforesend = None
        self.child.ptyproc.delayafterclose = 0.01
        for line in SETUP[self.kind]:
            self.child.sendline(line)
        self.run("true")
        return self

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendline("exit")
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                self.child.expect(pexpect.EOF, timeout=2)
        self.child.close(force=True)

    # -- running things

    def run(self, cmd: str) -> Result:
        """Run one command line; return what it printed and the hook's lines before the next prompt."""
        n = next(self._ids)
        self.child.sendline(f"__ts {n}; {cmd}; __te {n}")
        self.child.expect_exact(f"<<S:{n}>>\r\n")
        self.child.expect_exact(f"<<E:{n}>>\r\n")
        out = self.child.before.replace("\r\n", "\n")
        self.child.expect_exact(PROMPT)
        raw = self.child.before
        return Result(out, self._lines(raw), raw)

    @staticmethod
    def _lines(text: str) -> list[str]:
        # Each line as a terminal would show it (after its last carriage return, so fish's omitted-newline mark
        # it overwrites is gone); what follows the last newline is the shell's own redraw before its prompt.
        *lines, rest = text.split("\r\n")
        assert set(rest) <= set("\r \u23ce"), f"unexpected text before the prompt: {text!r}"
        return [line.split("\r")[-1] for line in lines]

    def enter(self) -> None:
        """Press Enter at an empty prompt: a prompt cycle without any command."""
        self.child.sendline("")
        self.child.expect_exact(PROMPT)

    def q(self, value: str | Path) -> str:
        return quote(self.kind, str(value))

    def cd(self, path: Path | str) -> Result:
        return self.run(f"cd {self.q(path)}")

    def envr(self, args: str) -> Result:
        """Run the envr CLI inside this shell (by absolute path: PATH is the system's)."""
        return self.run(f"{self.q(ENVR)} {args}")

    def install_hook(self) -> Result:
        """Install the hook exactly as the README says: eval "$(envr hook bash)", `envr hook fish | source`."""
        if self.kind == "fish":
            return self.run(f"{self.q(ENVR)} hook fish | source")
        return self.run(f'eval "$({self.q(ENVR)} hook {self.kind})"')

    def source(self, file: Path) -> Result:
        return self.run(f"source {self.q(file)}")

    def export(self, name: str, value: str) -> Result:
        if self.kind == "fish":
            return self.run(f"set -gx {name} {self.q(value)}")
        return self.run(f"export {name}={self.q(value)}")

    def unset(self, name: str) -> Result:
        return self.run(f"set -e {name}" if self.kind == "fish" else f"unset {name}")

    def set_hook_var(self, suffix: str, value: str) -> Result:
        """Set the hook's own variable _envr_<suffix> (fish: __envr_<suffix>), as `envr hook` sets it."""
        if self.kind == "fish":
            return self.run(f"set -g __envr_{suffix} {self.q(value)}")
        return self.run(f"_envr_{suffix}={self.q(value)}")

    def fail_with(self, status: int) -> str:
        """A command that exits with status, in this shell's syntax ((exit N) is not fish)."""
        if self.kind == "fish":
            return "false" if status == 1 else f"sh -c 'exit {status}'"
        return "false" if status == 1 else f"(exit {status})"

    def status(self) -> int:
        """The status the last prompt left behind: $? (fish $status) as the next command line sees it."""
        out = self.run('echo "st=$status"' if self.kind == "fish" else 'echo "st=$?"').out
        m = re.fullmatch(r"st=(\d+)\n", out)
        assert m, out
        return int(m.group(1))

    # -- reading values back exactly

    def environ(self) -> dict[str, str]:
        """The exported environment as a child process of the shell sees it, byte for byte."""
        file = self.tmp / f"env-{next(self._ids)}"
        self.run(f"command env -0 > {self.q(file)}")
        data = file.read_bytes()
        file.unlink()
        env = {}
        for item in data.split(b"\0")[:-1]:
            name, _, value = item.partition(b"=")
            env[name.decode()] = value.decode("utf-8", "surrogateescape")
        return env

    def state(self) -> dict[str, str]:
        """environ() less what the shell itself changes on cd."""
        return {k: v for k, v in self.environ().items() if k not in VOLATILE}

    def var(self, name: str) -> str | None:
        """The shell's own view of a variable: its exact value, or None when it is unset."""
        path = self.tmp / f"var-{next(self._ids)}"
        file = self.q(path)
        if self.kind == "fish":
            self.run(f"if set -q {name}; string join : -- ${name} > {file}; else; rm -f {file}; end")
        else:
            self.run(f'if [ -n "${{{name}+x}}" ]; then printf \'%s\' "${name}" > {file}; else rm -f {file}; fi')
        if not path.exists():
            return None
        data = path.read_bytes().decode("utf-8", "surrogateescape")
        path.unlink()
        if self.kind == "fish":  # string join ends what it prints with a newline
            assert data.endswith("\n") or data == "", data
            return data[:-1]
        return data

    def path(self) -> list[str]:
        return self.environ()["PATH"].split(":")


def shell_env(tmp: Path) -> dict[str, str]:
    env = {
        "HOME": str(tmp / "home"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "XDG_STATE_HOME": str(tmp / "xdg-state"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "ENVR_STORE": str(tmp / "store"),
        "PATH": SYSTEM_PATH,
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": os.environ.get("USER", "tester"),
    }
    for key in ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


@functools.cache
def envr_hook_output(kind: str) -> str:
    """What the venv's `envr hook KIND` prints, run once per test process and sourced by every shell after."""
    return subprocess.run([str(ENVR), "hook", kind], capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout


class Session:
    """One test's world: its tmp dirs, the isolated environment, and the shells started in it."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.work = tmp / "work"  # where shells start: in no project
        self.work.mkdir(exist_ok=True)
        self.env = shell_env(tmp)
        self.shells: list[Shell] = []

    @classmethod
    def following_environ(cls, kind: str, tmp: Path) -> Session:
        """A session whose shells use the HOME, XDG dirs and store of this process's (isolated) environment.

        For tests that also run envr outside the shell, through os.environ: both then see the same world.
        """
        session = cls(kind, tmp)
        for key in ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "ENVR_STORE"):
            if key in os.environ:
                session.env[key] = os.environ[key]
        session.env["PATH"] = f"{BIN}:{SYSTEM_PATH}"
        return session

    def shell(self, hook: bool = True, extra_env: Mapping[str, str] | None = None) -> Shell:
        """A started shell in self.work; with hook, the hook installed from what `envr hook KIND` printed."""
        sh = Shell(self.kind, self.tmp, {**self.env, **(extra_env or {})})
        self.shells.append(sh)
        sh.start(self.work)
        if hook:
            script = self.tmp / f"hook.{self.kind}"
            script.write_text(envr_hook_output(self.kind))
            res = sh.source(script)
            assert (res.out, res.hook) == ("", []), res
        return sh

    def allow(self, *files: Path) -> None:
        """What `envr allow FILE` records, done in-process (the CLI's start-up would dominate these tests).

        It skips the CLI's check that the file loads, so it also approves a broken file, for the hook to meet.
        The tests that are about `envr allow` itself run it inside the shell.
        """
        from envr.trust import approvals as trust

        with mock.patch.dict(os.environ, {k: v for k, v in self.env.items() if k.startswith("XDG_")}):
            for file in files:
                trust.approve(str(file))

    def counting_python(self, extra_output: str = "") -> tuple[Path, Path]:
        """A wrapper around this interpreter that logs each run to a counter file; returns (wrapper, counter).

        extra_output is appended to what the core prints, as if the core had printed it.
        """
        counter = self.tmp / "core-runs"
        wrapper = self.tmp / "counting-python"
        body = f'echo run >> "{counter}"\n"{sys.executable}" "$@"\nstatus=$?\n'
        if extra_output:
            body += f"printf '%s\\n' {quote('bash', extra_output)}\n"
        wrapper.write_text(f"#!/bin/sh\n{body}exit $status\n")
        wrapper.chmod(0o755)
        counter.touch()
        return wrapper, counter

    def close(self) -> None:
        for sh in self.shells:
            sh.close()


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines())
