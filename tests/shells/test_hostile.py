"""Hostile values, names and directories reach the shell exactly and are never executed (issue #2)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shellkit import SYSTEM_PATH, Session, write_project

# Pieces that mean something to some shell, terminal or to envr itself, mixed with arbitrary text.
FRAGMENTS = [
    "$(touch pwned)",
    "`touch pwned`",
    "(touch pwned)",
    "'$(touch pwned)'",
    '"; touch pwned; echo "',
    "'; touch pwned; echo '",
    "'\\''",
    "\\",
    "\\\\",
    "\\n",
    "\\u0041",
    "$",
    "$$",
    "${HOME}",
    "$HOME",
    "%s%n",
    "\n",
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x7f",
    "\x01",
    "\x03",
    "\x1a",
    "\u0085",
    "\u2028",
    "\ufeff",
    "\U0001f389",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\u05e9\u05dc\u05d5\u05dd",
    "\u202e",
    "\uf600",
    "\ufdd0",
    ";",
    "|",
    "&",
    "#",
    "!",
    "*",
    "?",
    "~",
    "{a,b}",
    "-n",
    "--",
    "=",
    " ",
    "",
]
CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
VALUE = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(CHARS, max_size=8)), max_size=6).map("".join)


def no_pwned(session: Session) -> None:
    assert not list(session.tmp.rglob("pwned*"))


def test_hostile_values_arrive_byte_for_byte_and_never_run(session: Session) -> None:
    sh = session.shell()  # one shell for every example
    root = session.work / "proj"
    before = sh.state()

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=st.lists(VALUE, min_size=1, max_size=4))
    def check(values: list[str]) -> None:
        # $$ is envr's literal $: doubling every $ makes the value the file holds exactly the value to expect.
        session.allow(write_project(root, {f"V{i}": v.replace("$", "$$") for i, v in enumerate(values)}))

        res = sh.cd(root)
        assert len(res.hook) == 1 and res.hook[0].startswith(f"envr: loaded {root}"), res.hook
        inside = sh.environ()
        assert [inside.get(f"V{i}") for i in range(len(values))] == values
        assert sh.var("V0") == values[0]

        res = sh.cd(session.work)
        assert res.hook == [f"envr: unloaded {root}"]
        assert sh.state() == before
        no_pwned(session)

    check()


def test_shell_syntax_in_a_template_is_data(session: Session) -> None:
    sh = session.shell()
    root = session.work / "proj"
    templates = {
        "SUBST": "$(touch pwned)",
        "BACKTICK": "`touch pwned`",
        "FISH_SUBST": "(touch pwned)",
        "BRACES": "${HOME}/x",
        "PLAIN_DOLLAR": "$HOME",
        "DOUBLED": "$${HOME}",
        "QUOTES": "'\"'\"'",
    }
    session.allow(write_project(root, templates))

    sh.cd(root)

    env = sh.environ()
    home = session.env["HOME"]
    assert {name: env[name] for name in templates} == {
        "SUBST": "$(touch pwned)",
        "BACKTICK": "`touch pwned`",
        "FISH_SUBST": "(touch pwned)",
        "BRACES": f"{home}/x",
        "PLAIN_DOLLAR": "$HOME",
        "DOUBLED": "${HOME}",
        "QUOTES": "'\"'\"'",
    }
    sh.cd(session.work)
    no_pwned(session)


def test_variable_names_the_hook_itself_uses(session: Session) -> None:
    sh = session.shell()
    root = session.work / "proj"
    names = ["rc", "out", "f", "s", "i", "n", "code", "e", "line"]
    session.allow(write_project(root, {name: f"value of {name}" for name in names}))

    res = sh.run(f"cd {sh.q(root)}; {sh.fail_with(42)}")

    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook
    assert sh.status() == 42
    env = sh.environ()
    assert {name: env.get(name) for name in names} == {name: f"value of {name}" for name in names}
    res = sh.cd(session.work)
    assert len(res.hook) == 1
    env = sh.environ()
    assert [name for name in names if name in env] == []


HOSTILE_DIR = (
    'we\'ird "dir" $(touch pwned) `touch pwned` (touch pwned) \\ \n second line\ttab \U0001f389 \u05e9\u05dc \x1b[31m'
)


def test_a_hostile_project_directory(session: Session) -> None:
    root = session.work / HOSTILE_DIR
    write_project(root, {"WHERE": "${ENVR_ROOT}"}, prepend=["bin"], append=["${ENVR_ROOT}/late"])
    sh = session.shell(extra_env={"HOSTILE_DIR": str(root)})
    before = sh.state()

    res = sh.run("cd $HOSTILE_DIR" if sh.kind == "fish" else 'cd "$HOSTILE_DIR"')
    # One line (the newline in the name shown, not obeyed), and no escape sequence reaching the terminal.
    assert len(res.hook) == 1 and "envr allow" in res.hook[0], res.hook
    assert "\x1b" not in res.raw
    assert sh.state() == before

    res = sh.envr("allow")
    assert len(res.hook) == 1 and "loaded" in res.hook[0] and "\x1b" not in res.raw, res.hook
    env = sh.environ()
    assert env["ENVR_ROOT"] == str(root)
    assert env["WHERE"] == str(root)
    assert env["PATH"] == f"{root}/bin:{SYSTEM_PATH}:{root}/late"
    assert sh.var("PWD") == str(root)

    res = sh.cd(session.work)
    assert len(res.hook) == 1 and "unloaded" in res.hook[0] and "\x1b" not in res.raw, res.hook
    assert sh.state() == before
    no_pwned(session)
