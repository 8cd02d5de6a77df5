"""What envr prints for other programs to read: `envr export dotenv` (D13) and the names decoded from an
inherited ENVR_STATE (D17). Nothing in either may ever run, and values arrive byte for byte.

dotenv has three kinds of reader here: `sh` with `set -a; . file`, bash likewise, and docker's `--env-file`,
which takes each `NAME=value` line literally (no quotes, no escapes, one line per variable). No encoding serves
all three for every value, so the guarantee tested is: sh and bash get the exact value (or envr refuses that
value with one line naming it), nothing runs, docker can never be handed a variable the project did not set
(a newline must not start a new `NAME=` line), and a value that needs no quoting is written as plain
`NAME=value`, which every reader takes the same way.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .helpers import ENVR, World, assert_no_internal_error, assert_one_line_error

MARK = "PWNED"

HOSTILE = {
    "backticks": "a`touch {m}`b",
    "command-substitution": "$(touch {m})",
    "dollar-braces": "${{HOME}} and $HOME",
    "double-quotes": 'say "hi" "$(touch {m})"',
    "single-quotes": "it's 'quoted' '$(touch {m})'",
    "backslashes": 'back\\slash \\n \\\\ \\$ \\` \\"',
    "trailing-backslash": "ends with \\",
    "newline": "line one\nline two",
    "newline-injection": "x\nINJECTED=1\nexport INJECTED2=`touch {m}`",
    "carriage-return-and-tab": "a\rb\tc",
    "semicolon-and-pipe": "a; touch {m} | cat & echo",
    "hash": "# not a comment",
    "unicode": "caf\u00e9 \u2603 \U0001f389",
}
PLAIN = "plain-value_1.2:/x@y%z+,="


def toml_basic(value: str) -> str:
    """value as a TOML basic string; envr reads $$ as a literal $, so every $ is doubled."""
    value = value.replace("$", "$$")
    out = []
    for ch in value:
        if ch in '"\\' or not (" " <= ch <= "~"):
            out.append(f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dotenv_of(world: World, values: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`envr export dotenv` in a project setting values; the output kept byte for byte (no newline translation:
    a carriage return must reach the readers as it is)."""
    root = world.project("p", "[env]\n" + "".join(f"{k} = {toml_basic(v)}\n" for k, v in values.items()))
    world.allow(root)
    raw = subprocess.run(
        [ENVR, "export", "dotenv"], cwd=root, env={**world.env, "PWD": str(root)}, capture_output=True, timeout=30
    )
    r = subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode("utf-8", "surrogateescape"), raw.stderr.decode("utf-8", "replace")
    )
    assert_no_internal_error(r)
    out = world.tmp / "out.env"
    out.write_bytes(raw.stdout)
    return r, out


def sourced_value(shell: list[str], dotenv: Path, name: str, dest: Path, cwd: Path) -> bytes | None:
    script = f'set -a; . "{dotenv}"; set +a; if [ -n "${{{name}+x}}" ]; then printf %s "${name}" > "{dest}"; fi'
    subprocess.run([*shell, "-c", script], cwd=cwd, capture_output=True, timeout=30, check=False)
    return dest.read_bytes() if dest.exists() else None


def docker_env_file(text: str) -> dict[str, str]:
    """docker's --env-file reader: each non-empty, non-# line is NAME=value taken literally."""
    out = {}
    for line in text.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        out[name] = value
    return out


@pytest.mark.parametrize("case", list(HOSTILE))
def test_dotenv_sourced_by_sh_and_bash_gives_the_value_byte_for_byte_and_runs_nothing(world: World, case: str) -> None:
    marker = world.tmp / MARK
    value = HOSTILE[case].format(m=marker)
    r, dotenv = dotenv_of(world, {"V": value})
    if r.returncode != 0:  # refusing a value no dotenv can carry is allowed, with one line naming it
        assert_one_line_error(r, "V")
        return
    for shell in (["sh"], ["bash", "--norc", "--noprofile"]):
        dest = world.tmp / f"value-{shell[0]}"
        got = sourced_value(shell, dotenv, "V", dest, world.tmp)
        assert not marker.exists(), f"sourcing the .env in {shell[0]} ran a command"
        assert got == value.encode(), f"{shell[0]} read {got!r}, not {value!r}\n{dotenv.read_text()}"


@pytest.mark.parametrize("case", ["newline-injection", "newline", "carriage-return-and-tab"])
def test_dotenv_never_hands_docker_a_variable_the_project_did_not_set(world: World, case: str) -> None:
    value = HOSTILE[case].format(m=world.tmp / MARK)
    r, _dotenv = dotenv_of(world, {"V": value})
    if r.returncode != 0:
        assert_one_line_error(r, "V")
        return
    names = set(docker_env_file(r.stdout))
    assert not names - {"V", "ENVR_ROOT", "ENVR_STATE"}, f"docker would set {sorted(names)}"
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names), names


def test_dotenv_writes_a_plain_value_plainly_for_docker(world: World) -> None:
    r, dotenv = dotenv_of(world, {"PLAIN": PLAIN})

    assert r.returncode == 0, r.stderr
    assert docker_env_file(r.stdout).get("PLAIN") == PLAIN, r.stdout
    assert sourced_value(["sh"], dotenv, "PLAIN", world.tmp / "plain", world.tmp) == PLAIN.encode()


# --- D17: names decoded from ENVR_STATE ---------------------------------------------------------------------


def pack(value: object) -> str:
    """ENVR_STATE's encoding (envr's diff.pack, re-implemented): unicode_escape'd, length-prefixed strings."""
    if value is None:
        return "n"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return f"i{value};"
    if isinstance(value, str):
        escaped = value.encode("unicode_escape").decode("ascii")
        return f"s{len(escaped)}:{escaped}"
    if isinstance(value, list):
        return "l" + "".join(pack(v) for v in value) + "e"
    if isinstance(value, dict):
        return "d" + "".join(pack(str(k)) + pack(v) for k, v in value.items()) + "e"
    raise TypeError(type(value))


def crafted_state(root: Path, name: str, before: str | None) -> str:
    return pack(
        {
            "v": 1,
            "root": str(root),
            "file": str(root / "envr.toml"),
            "digest": "d",
            "vars": {name: [before, None]},
            "pre": [],
            "app": [],
            "nopath": False,
            "extra": {},
        }
    )


NAMES = {
    "semicolon": "x;touch {m};y",
    "command-substitution": "$(touch {m})",
    "backticks": "`touch {m}`",
    "space": "a touch {m}",
    "newline": "x\ntouch {m}\ny",
    "quote": "x'$(touch {m})'",
    "ampersand": "x&touch {m}&y",
    "fish-subst": "(touch {m})",
}
EVAL = {
    "bash": (["bash", "--norc", "--noprofile", "-c"], 'eval "$(cat "$1")"'),
    "zsh": (["zsh", "-f", "-c"], 'eval "$(cat "$1")"'),
    "fish": (["fish", "--no-config", "-c"], "source $argv[-1]"),
}


@pytest.mark.parametrize("before", ["1", None], ids=["restore-a-value", "unset"])
@pytest.mark.parametrize("shell", list(EVAL))
def test_a_crafted_envr_state_name_never_reaches_the_shell_unquoted(
    world: World, shell: str, before: str | None
) -> None:
    marker = world.tmp / MARK
    nowhere = world.tmp / "no-project"
    nowhere.mkdir()
    ran = []
    for key, template in NAMES.items():
        name = template.format(m=marker)
        state = crafted_state(world.tmp / "gone", name, before)
        r = world.envr("export", shell, cwd=nowhere, extra_env={"ENVR_STATE": state})
        assert_no_internal_error(r)
        script = world.tmp / f"out-{key}.{shell}"
        script.write_text(r.stdout)
        argv, code = EVAL[shell]
        subprocess.run([*argv, code, shell, str(script)], cwd=nowhere, env=world.env, capture_output=True, timeout=30)
        if marker.exists():
            ran.append(key)
            marker.unlink()
    assert ran == [], f"a crafted ENVR_STATE name ran a command in {shell}: {ran}"


def test_a_crafted_state_name_is_not_exported_as_json_either(world: World) -> None:
    nowhere = world.tmp / "no-project"
    nowhere.mkdir()
    state = crafted_state(world.tmp / "gone", "x;touch /tmp/never;y", "1")

    r = world.envr("export", "json", cwd=nowhere, extra_env={"ENVR_STATE": state})

    assert_no_internal_error(r)
    assert "x;touch" not in r.stdout
