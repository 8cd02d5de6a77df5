"""The hook never breaks the shell, runs once per prompt, and starts no process when nothing changed (issue #2)."""

from __future__ import annotations

import os
import sys
import time

from shellkit import SYSTEM_PATH, Session, Shell, age, hook_script, runs, write_project

# What the hook registers, as each shell lists it.
REGISTRATIONS = {
    "bash": "printf '%s\\n' \"${PROMPT_COMMAND[@]}\"",
    "zsh": 'print -rl -- "${precmd_functions[@]}"',
    "fish": "functions --handlers-type generic",
}
# A line that, appended to the core's output, makes the next check run the core again (as a racy file does).
RECHECK = {"bash": "_envr_racy=1", "zsh": "_envr_racy=1", "fish": "set -g _envr_racy 1"}


def test_the_documented_install_line_works(session: Session) -> None:
    sh = session.shell(hook=False)
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}))

    res = sh.install_hook()  # eval "$(envr hook bash)" / envr hook fish | source, envr from this venv

    assert (res.out, res.hook) == ("", [])
    assert len(sh.cd(root).hook) == 1
    assert sh.var("A") == "1"


def test_installing_the_hook_twice_runs_it_once_per_prompt(session: Session) -> None:
    sh = session.shell(hook=False)
    sh.install_hook()
    res = sh.install_hook()
    assert (res.out, res.hook) == ("", [])

    hooks = sh.run(REGISTRATIONS[sh.kind]).out
    assert hooks.count("_envr_hook") == 1, hooks

    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}))
    age(session.tmp)  # no just-written file to look at again at the next prompt
    res = sh.cd(root)
    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook

    # Make every run of the core ask for another one: a second registration would then run it twice a prompt.
    wrapper, counter = session.counting_python(extra_output=RECHECK[sh.kind])
    sh.set_hook_var("py", str(wrapper))
    assert runs(counter) == 0  # nothing changed at that prompt
    sh.run(RECHECK[sh.kind])
    for expected in range(1, 5):
        assert runs(counter) == expected
        assert sh.run("true").hook == []
    assert sh.var("A") == "1"


def test_invalid_toml_leaves_a_working_prompt_and_one_line(session: Session, sh: Shell) -> None:
    root = session.work / "bad"
    root.mkdir()
    file = root / "envr.toml"
    file.write_text('[env\nA = "1"\n')
    before = sh.state()

    res = sh.run(f"cd {sh.q(root)}; {sh.fail_with(42)}")
    assert len(res.hook) <= 1, res.hook  # blocked before it is even read
    assert sh.status() == 42

    session.allow(file)  # approved as is, so the core has to parse it
    res = sh.run(sh.fail_with(42))
    assert len(res.hook) == 1 and str(file) in res.hook[0] and "invalid TOML" in res.hook[0], res.hook
    assert sh.status() == 42
    assert sh.state() == before
    assert sh.run("echo alive").out == "alive\n"

    session.allow(write_project(root, {"A": "1"}))
    res = sh.run("true")
    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook
    assert sh.var("A") == "1"


def test_a_missing_interpreter_leaves_a_working_prompt_and_one_line(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}))
    before = sh.state()
    sh.set_hook_var("py", str(session.tmp / "no-such-dir" / "python3"))

    res = sh.run(f"cd {sh.q(root)}; {sh.fail_with(42)}")
    assert len(res.hook) == 1 and "no-such-dir/python3" in res.hook[0] and "missing" in res.hook[0], res.hook
    assert sh.status() == 42
    for _ in range(2):
        res = sh.run(f"cd {sh.q(session.work)}; cd {sh.q(root)}; {sh.fail_with(1)}")
        assert res.hook == []  # said once
        assert sh.status() == 1
    assert sh.state() == before
    assert sh.run("echo alive").out == "alive\n"


def test_a_hook_whose_interpreter_was_deleted_leaves_a_working_prompt(session: Session) -> None:
    python = session.tmp / "python-copy"
    python.symlink_to(sys.executable)
    script = session.tmp / f"hook.{session.kind}"
    script.write_text(hook_script(session.kind, python))
    sh = session.shell(hook=False)
    sh.source(script)
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}, prepend=["bin"]))
    age(session.tmp)  # nothing just written, so nothing to look at again
    assert len(sh.cd(root).hook) == 1
    assert sh.var("A") == "1"

    python.unlink()
    # Leaving needs no interpreter: the hook reverts by itself, as the core wrote at load time.
    res = sh.run(f"cd {sh.q(session.work)}; {sh.fail_with(42)}")
    assert len(res.hook) == 1 and "unloaded" in res.hook[0], res.hook
    assert sh.status() == 42
    assert sh.var("A") is None
    # Entering a project this shell never loaded does: one line naming the missing interpreter, once.
    other = session.work / "other"
    session.allow(write_project(other, {"B": "2"}))
    res = sh.run(f"cd {sh.q(other)}; {sh.fail_with(42)}")
    assert len(res.hook) == 1 and str(python) in res.hook[0], res.hook
    assert sh.status() == 42
    third = session.work / "third"
    session.allow(write_project(third, {"C": "3"}))
    res = sh.run(f"cd {sh.q(third)}; {sh.fail_with(1)}")
    assert res.hook == []
    assert sh.status() == 1


def test_a_broken_envr_package_leaves_a_working_prompt_and_one_line(session: Session, sh: Shell) -> None:
    lib = session.tmp / "half-upgraded"
    (lib / "envr").mkdir(parents=True)
    (lib / "envr" / "__init__.py").write_text("")  # a package without its modules: the import fails
    sh.set_hook_var("lib", str(lib))
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}))

    res = sh.run(f"cd {sh.q(root)}; {sh.fail_with(42)}")

    assert len(res.hook) == 1 and res.hook[0].startswith("envr: "), res.hook
    assert sh.status() == 42
    assert sh.run("true").hook == []  # not retried until something changes
    assert sh.var("A") is None


def test_a_failing_core_is_not_retried_until_something_changes(session: Session, sh: Shell) -> None:
    wrapper = session.tmp / "failing-python"
    counter = session.tmp / "failing-runs"
    counter.touch()
    wrapper.write_text(f'#!/bin/sh\necho run >> "{counter}"\necho "envr: it broke" >&2\nexit 1\n')
    wrapper.chmod(0o755)
    sh.set_hook_var("py", str(wrapper))
    before = sh.state()

    session.allow(write_project(session.work / "elsewhere", {"A": "1"}))  # a project the core must load

    res = sh.run(f"cd elsewhere; {sh.fail_with(42)}")

    assert res.hook == ["envr: it broke"]
    assert sh.status() == 42
    for _ in range(3):
        assert sh.run("true").hook == []
    assert runs(counter) == 1
    assert sh.state() == before
    session.allow(write_project(session.work / "next", {"A": "1"}))
    assert sh.cd(session.work / "next").hook == ["envr: it broke"]  # something changed: asked again


def test_the_status_before_the_hook_is_the_status_after_it(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}))
    for status in (1, 42):
        sh.run(sh.fail_with(status))  # the hook has nothing to do
        assert sh.status() == status
    res = sh.run(f"cd {sh.q(root)}; {sh.fail_with(1)}")  # the hook loads a project
    assert len(res.hook) == 1
    assert sh.status() == 1
    res = sh.run(f"cd {sh.q(session.work)}; {sh.fail_with(42)}")  # and unloads it
    assert len(res.hook) == 1
    assert sh.status() == 42


def test_steady_state_starts_no_process(session: Session) -> None:
    wrapper, counter = session.counting_python()
    script = session.tmp / f"hook.{session.kind}"
    script.write_text(hook_script(session.kind, wrapper))
    sh = session.shell(hook=False)
    sh.source(script)
    assert runs(counter) == 1  # the first prompt looks around once

    root = session.work / "proj"
    (root / "sub").mkdir(parents=True)
    session.allow(write_project(root, {"A": "1"}, prepend=["bin"]))
    # A file modified within the last ~100 ms is checked once more at the next prompt (its mtime may not move
    # if it is modified again within the same timestamp tick): age everything, to count only the steady state.
    age(session.tmp)

    def still(n: int) -> None:
        for _ in range(4):
            sh.enter()
        for _ in range(3):
            assert sh.run("true").hook == []
        sh.run("echo nothing to see")
        assert runs(counter) == n

    still(1)
    sh.cd(root)
    assert runs(counter) == 2  # a project this shell never loaded: the core loads it
    assert sh.var("A") == "1"
    still(2)
    sh.cd(root / "sub")  # moving within the project: no process
    assert runs(counter) == 2
    still(2)
    sh.cd(session.work)  # leaving for no project: the hook reverts by itself
    assert runs(counter) == 2
    assert sh.var("A") is None
    still(2)
    sh.cd(root)  # back into a project loaded before, nothing changed: from the hook's cache
    assert runs(counter) == 2
    assert sh.var("A") == "1"
    sh.cd(session.work)
    assert runs(counter) == 2
    assert sh.var("A") is None

    # A project file stamped in the future (clock skew, an unpacked archive) is no reason to look again.
    future = time.time_ns() + 3600 * 10**9
    os.utime(root / "envr.toml", ns=(future, future))
    session.allow(root / "envr.toml")
    age(session.tmp / "xdg-data")
    sh.cd(root)
    assert runs(counter) == 3  # the approval changed: the cached load no longer holds
    still(3)
    assert sh.environ()["PATH"] == f"{root}/bin:{SYSTEM_PATH}"


# Strict options a user may have on, and a prompt hook of the user's own that must keep running (and stay
# where it is) next to envr's.
USER_SETUP = {
    "bash": "set -u; shopt -s nullglob failglob; PROMPT_COMMAND='__user_n=$((${__user_n:-0} + 1))'",
    "zsh": "setopt nounset warn_create_global ksh_arrays sh_word_split; typeset -gi __user_n=0; "
    "__user_pc() { (( __user_n += 1 )) }; precmd_functions=(__user_pc)",
    "fish": "set -g __user_n 0; function __user_pc --on-event fish_prompt; set -g __user_n (math $__user_n + 1); end",
}


def test_strict_user_options_and_the_users_own_prompt_hook(session: Session) -> None:
    sh = session.shell(hook=False)
    sh.run(USER_SETUP[sh.kind])
    for _ in range(2):
        res = sh.install_hook()
        assert (res.out, res.hook) == ("", []), res
    hooks = sh.run(REGISTRATIONS[sh.kind]).out
    assert hooks.count("_envr_hook") == 1 and "__user" in hooks, hooks

    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}, prepend=["bin"]))
    res = sh.cd(root)
    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook
    assert sh.var("A") == "1"
    n = int(sh.var("__user_n") or "")
    assert sh.run("true").hook == []
    assert int(sh.var("__user_n") or "") == n + 2  # both prompts ran the user's hook
    res = sh.cd(session.work)
    assert res.hook == [f"envr: unloaded {root}"]

    # A core that cannot even load leaves one line, then silence (no unbound-variable complaints).
    lib = session.tmp / "half-upgraded"
    (lib / "envr").mkdir(parents=True)
    (lib / "envr" / "__init__.py").write_text("")
    sh.set_hook_var("lib", str(lib))
    res = sh.run(f"cd {sh.q(root)}; {sh.fail_with(42)}")
    assert len(res.hook) == 1 and "cannot load envr" in res.hook[0], res.hook
    assert sh.status() == 42
    for _ in range(2):
        assert sh.run("true").hook == []
