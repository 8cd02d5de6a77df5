"""Trust and the project file's life cycle, seen from a real interactive shell (issue #2)."""

from __future__ import annotations

import os

from shellkit import HOOK_FUNCTION, SYSTEM_PATH, Session, Shell, age, write_project


def test_an_untrusted_file_exports_nothing_and_says_so_in_one_line(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    file = write_project(root, {"SECRET": "x"}, prepend=["bin"])
    other = session.work / "other"
    other_file = write_project(other, {"SECRET": "y"})
    # A file written within the last ~100 ms is checked again at the next prompt (its mtime could still change
    # within the same timestamp tick), which for a blocked file repeats the line: age them to see the steady case.
    age(session.work)
    before = sh.state()

    res = sh.cd(root)

    assert len(res.hook) == 1, res.hook
    assert str(file) in res.hook[0] and "envr allow" in res.hook[0], res.hook
    assert sh.state() == before
    assert sh.run("true").hook == []  # said once, not at every prompt

    # The line goes to stderr: run the hook by hand with its stderr in a file (the prompt's own run then has
    # nothing left to do).
    err = session.tmp / "stderr"
    res = sh.run(f"cd {sh.q(other)}; {HOOK_FUNCTION[sh.kind]} 2> {sh.q(err)}")
    assert (res.out, res.hook) == ("", [])
    lines = err.read_text().splitlines()
    assert len(lines) == 1 and str(other_file) in lines[0] and "envr allow" in lines[0], lines
    assert sh.state() == before


def test_allow_and_deny_inside_the_shell_take_effect_at_the_next_prompt(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    write_project(root, {"A": "1"}, prepend=["bin"])
    before = sh.state()
    sh.cd(root)

    res = sh.envr("allow")
    assert "allowed" in res.out
    assert len(res.hook) == 1 and res.hook[0].startswith(f"envr: loaded {root}"), res.hook
    env = sh.environ()
    assert (env["A"], env["ENVR_ROOT"], env["PATH"]) == ("1", str(root), f"{root}/bin:{SYSTEM_PATH}")

    res = sh.envr("deny")
    assert "denied" in res.out
    assert len(res.hook) == 1 and "unloaded" in res.hook[0] and "denied" in res.hook[0], res.hook
    assert sh.state() == before

    res = sh.envr("allow")
    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook
    assert sh.environ()["A"] == "1"


def test_editing_blocks_until_allowed_again_and_reloads_keep_path_clean(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    file = write_project(root, {"A": "1"}, prepend=["bin"], append=["late"])
    session.allow(file)
    before = sh.state()
    sh.cd(root)
    assert sh.environ()["A"] == "1"

    write_project(root, {"A": "2"}, prepend=["bin"], append=["late"])  # right after the prompt: no sleep
    res = sh.run("true")
    assert len(res.hook) == 1, res.hook
    assert "unloaded" in res.hook[0] and "changed since allowed" in res.hook[0] and "envr allow" in res.hook[0]
    assert sh.state() == before

    res = sh.envr("allow")
    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook
    assert sh.environ()["A"] == "2"

    sh.export("MINE", "x")
    for i in range(3, 6):  # edit, then allow it in the same prompt: each one a reload
        extra = [f"bin{i % 2}"]
        write_project(root, {"A": str(i)}, prepend=["bin", *extra], append=["late"])
        res = sh.envr("allow")
        assert len(res.hook) == 1 and res.hook[0].startswith(f"envr: reloaded {root}"), res.hook
        env = sh.environ()
        assert env["A"] == str(i)
        assert env["PATH"] == f"{root}/bin:{root}/{extra[0]}:{SYSTEM_PATH}:{root}/late"

    sh.cd(session.work)
    assert sh.state() == {**before, "MINE": "x"}


def test_same_size_edits_right_after_each_prompt_are_all_noticed(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "0"}))
    sh.cd(root)
    for i in range(1, 6):
        # Same size, right after the prompt that loaded the last version, approved at once: all well within one
        # coarse timestamp tick of the last check.
        session.allow(write_project(root, {"A": str(i)}))
        res = sh.run("true")
        assert len(res.hook) == 1 and "reloaded" in res.hook[0], (i, res.hook)
        assert sh.var("A") == str(i)


def test_deleting_the_file_unloads_and_creating_one_is_noticed(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    file = write_project(root, {"A": "1"}, prepend=["bin"])
    session.allow(file)
    before = sh.state()
    sh.cd(root)
    assert sh.environ()["A"] == "1"

    file.unlink()
    res = sh.run("true")
    assert res.hook == [f"envr: unloaded {root}"]
    assert sh.state() == before

    fresh = session.work / "fresh"
    fresh.mkdir()
    sh.cd(fresh)
    new_file = write_project(fresh, {"B": "2"})
    res = sh.run("true")
    assert len(res.hook) == 1 and str(new_file) in res.hook[0] and "envr allow" in res.hook[0], res.hook
    assert "B" not in sh.environ()
    res = sh.envr("allow")
    assert len(res.hook) == 1 and "loaded" in res.hook[0]
    assert sh.environ()["B"] == "2"


def test_the_lock_file_is_covered_by_the_approval(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1"}))
    sh.cd(root)
    assert sh.var("A") == "1"

    (root / "envr.lock").write_text("# appeared after the approval\n")
    res = sh.run("true")
    assert len(res.hook) == 1 and "changed since allowed" in res.hook[0], res.hook
    assert sh.var("A") is None
    os.unlink(root / "envr.lock")
    res = sh.run("true")
    assert len(res.hook) == 1 and "loaded" in res.hook[0], res.hook
    assert sh.var("A") == "1"


def test_a_blocked_line_is_not_repeated_by_re_checks(session: Session, sh: Shell) -> None:
    # No age() here: the freshly written file is re-checked at the next prompt, and a cd into a subdirectory
    # runs the core again; neither may say "not allowed" a second time.
    root = session.work / "proj"
    write_project(root, {"A": "1"})
    (root / "sub").mkdir()
    res = sh.cd(root)
    assert len(res.hook) == 1 and "not allowed" in res.hook[0], res.hook
    assert sh.run("true").hook == []
    assert sh.cd(root / "sub").hook == []
    res = sh.envr("deny")
    assert len(res.hook) == 1 and "denied" in res.hook[0], res.hook
    assert sh.run("true").hook == []
    sh.cd(session.work)
    res = sh.cd(root)  # coming back is news again
    assert len(res.hook) == 1 and "denied" in res.hook[0], res.hook
