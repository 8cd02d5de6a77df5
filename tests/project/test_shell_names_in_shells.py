"""D11 the user's way: in a real interactive bash, zsh and fish, a project that sets a name the shell keeps for
itself is refused at `envr allow` with file:line:col, never loads, and the hook keeps working."""

from __future__ import annotations

from shellkit import Session, Shell, write_project

# Per shell: the names the findings saw break it (T16-T18), and one every shell has.
STEERING = {
    "bash": ["PROMPT_COMMAND", "PS1", "BASH_ENV", "HISTFILESIZE", "LINENO"],
    "zsh": ["LINENO", "HISTCMD", "parameters", "funcstack", "signals", "options", "precmd_functions", "STTY"],
    "fish": ["status_generation", "fish_killring", "umask", "fish_user_paths", "fish_function_path"],
}


def test_names_the_shell_keeps_are_refused_at_allow_and_never_load(session: Session, sh: Shell) -> None:
    other = session.work / "ok"
    write_project(other, {"OTHER": "loaded"})
    session.allow(other / "envr.toml")
    for name in STEERING[sh.kind]:
        root = session.work / f"p-{name}"
        file = write_project(root, {"GREETING": "hi", name: "1"})

        res = sh.envr(f"allow {sh.q(root)}")

        line = res.out.strip()
        assert line.startswith(f"envr: {file}:3:1: envr must not set {name}: "), res.out
        assert "\n" not in line and "internal error" not in line
        assert sh.status() == 1
        entering = sh.cd(root)
        assert sh.var("GREETING") is None
        assert len(entering.hook) == 1 and "not allowed" in entering.hook[0], entering.hook
        # the hook still runs: another project loads and unloads as usual, with no error from the shell
        loading = sh.cd(other)
        assert sh.var("OTHER") == "loaded"
        leaving = sh.cd(session.work)
        assert [line for line in loading.hook + leaving.hook if not line.startswith("envr: ")] == []
        assert sh.var("OTHER") is None and sh.var("GREETING") is None
