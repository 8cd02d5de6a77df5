"""What the hook decides without the core (issue 11): cd within a project, leaving for no project, and
re-entering a project loaded before in the same shell. Each must do exactly what the core would do, and fall
back to the core whenever a cached load no longer holds. Every test counts the core's runs with a wrapper.
"""

from __future__ import annotations

from pathlib import Path

from shellkit import SYSTEM_PATH, Session, Shell, age, hook_script, runs, write_project


def counted_shell(session: Session) -> tuple[Shell, Path]:
    """A shell whose hook runs the core through a counting wrapper, settled in session.work."""
    wrapper, counter = session.counting_python()
    script = session.tmp / f"hook.{session.kind}"
    script.write_text(hook_script(session.kind, wrapper))
    sh = session.shell(hook=False)
    sh.source(script)
    return sh, counter


def test_leaving_by_the_hook_keeps_what_the_user_changed_and_added(session: Session) -> None:
    root = session.work / "proj"
    session.allow(write_project(root, {"A": "1", "B": "2", "GONE": False}, prepend=["bin"], append=["late"]))
    sh, counter = counted_shell(session)
    sh.export("GONE", "outside value")
    age(session.tmp)
    before = sh.state()
    sh.cd(root)
    n = runs(counter)
    sh.export("B", "mine")  # the user changes a project variable inside
    sh.run("PATH=/opt/mine:$PATH" if sh.kind != "fish" else "set -gx PATH /opt/mine $PATH")

    res = sh.cd(session.work)

    assert runs(counter) == n  # no process
    assert res.hook == ["envr: unloaded " + str(root) + "; kept B as you changed it inside"], res.hook
    after = sh.state()
    assert after["B"] == "mine" and "A" not in after and after["GONE"] == "outside value"
    assert after["PATH"] == f"/opt/mine:{SYSTEM_PATH}"  # envr's entries gone, the user's kept
    assert {k: v for k, v in after.items() if k not in ("B", "PATH")} == {
        k: v for k, v in before.items() if k not in ("B", "PATH")
    }


def test_re_entering_from_the_hooks_cache_is_exactly_a_load(session: Session) -> None:
    root = session.work / "proj"
    (root / "sub").mkdir(parents=True)
    session.allow(write_project(root, {"GREETING": "hi ${WHO}", "DATA": "${ENVR_ROOT}/data"}, prepend=["bin"]))
    sh, counter = counted_shell(session)
    sh.export("WHO", "you")
    age(session.tmp)
    outside = sh.state()
    first = sh.cd(root)
    loaded = sh.state()
    assert runs(counter) == 2  # the first prompt, then this load
    sh.cd(root / "sub")
    sh.cd(session.work)
    assert sh.state() == outside

    res = sh.cd(root)

    assert runs(counter) == 2  # no process
    assert res.hook == first.hook  # the same line
    assert sh.state() == loaded  # the same environment, ENVR_STATE included
    sh.cd(session.work)
    assert sh.state() == outside


def test_a_cached_load_that_no_longer_holds_asks_the_core(session: Session) -> None:
    root = session.work / "proj"
    session.allow(write_project(root, {"GREETING": "hi ${WHO}"}))
    sh, counter = counted_shell(session)
    sh.export("WHO", "you")
    age(session.tmp)
    sh.cd(root)
    sh.cd(session.work)
    n = runs(counter)

    sh.export("WHO", "someone else")  # a variable the project reads changed
    sh.cd(root)
    assert runs(counter) == n + 1
    assert sh.var("GREETING") == "hi someone else"
    sh.cd(session.work)

    sh.export("GREETING", "set outside")  # a variable the project sets had another value before
    sh.cd(root)
    assert runs(counter) == n + 2
    sh.cd(session.work)
    assert sh.var("GREETING") == "set outside"  # restored to what it was before entering

    write_project(root, {"GREETING": "edited"})  # the file changed: blocked, said by the core
    age(root)
    res = sh.cd(root)
    assert runs(counter) == n + 3
    assert len(res.hook) == 1 and "changed since allowed" in res.hook[0], res.hook
    assert sh.var("GREETING") == "set outside"


def test_a_nested_project_on_the_way_asks_the_core(session: Session) -> None:
    root = session.work / "proj"
    inner = root / "a" / "inner"
    session.allow(write_project(root, {"LEVEL": "outer"}))
    sh, counter = counted_shell(session)
    age(session.tmp)
    sh.cd(root)
    session.allow(write_project(inner, {"LEVEL": "inner"}))
    age(session.tmp)
    n = runs(counter)

    sh.cd(inner)

    assert runs(counter) == n + 1
    assert sh.var("LEVEL") == "inner"
    sh.cd(root)
    assert sh.var("LEVEL") == "outer"
