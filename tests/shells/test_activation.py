"""Entering, leaving and moving between projects in real interactive shells (issue #2)."""

from __future__ import annotations

from shellkit import SYSTEM_PATH, Session, Shell, write_project


def test_entering_applies_env_and_path_before_the_next_prompt(session: Session, sh: Shell) -> None:
    sh.export("WHO", "world")
    sh.export("GONE", "was here")
    root = session.work / "proj"
    file = write_project(
        root,
        {
            "GREETING": "hello ${WHO}",
            "PRICE": "$$5 and $HOME stays",
            "DATA": "${ENVR_ROOT}/data",
            "GONE": False,
        },
        prepend=["bin", "${ENVR_ROOT}/tools"],
        append=["late"],
    )
    session.allow(file)

    res = sh.cd(root)

    assert res.out == ""
    assert len(res.hook) == 1 and res.hook[0].startswith(f"envr: loaded {root}"), res.hook
    env = sh.environ()  # the first command after that one prompt
    assert env["ENVR_ROOT"] == str(root)
    assert env["GREETING"] == "hello world"
    assert env["PRICE"] == "$5 and $HOME stays"
    assert env["DATA"] == f"{root}/data"
    assert "GONE" not in env
    assert sh.var("GONE") is None
    assert env["PATH"] == f"{root}/bin:{root}/tools:{SYSTEM_PATH}:{root}/late"
    assert sh.var("PATH") == env["PATH"]


def test_leaving_restores_a_value_an_empty_value_and_unset_exactly(session: Session, sh: Shell) -> None:
    sh.export("HAD_VALUE", "before 'quoted' value")
    sh.export("HAD_EMPTY", "")
    sh.unset("HAD_NOTHING")
    sh.export("UNSET_INSIDE", "keep me")
    root = session.work / "proj"
    file = write_project(
        root,
        {"HAD_VALUE": "inside", "HAD_EMPTY": "inside", "HAD_NOTHING": "inside", "UNSET_INSIDE": False},
        prepend=["bin"],
    )
    session.allow(file)
    before = sh.state()

    sh.cd(root)
    inside = sh.state()
    assert [inside.get(n) for n in ("HAD_VALUE", "HAD_EMPTY", "HAD_NOTHING", "UNSET_INSIDE")] == [
        "inside",
        "inside",
        "inside",
        None,
    ]

    res = sh.cd(session.work)
    assert res.hook == [f"envr: unloaded {root}"]
    assert sh.state() == before
    assert sh.var("HAD_VALUE") == "before 'quoted' value"
    assert sh.var("HAD_EMPTY") == ""
    assert sh.var("HAD_NOTHING") is None
    assert sh.var("UNSET_INSIDE") == "keep me"
    assert sh.var("ENVR_ROOT") is None
    assert sh.var("ENVR_STATE") is None


def test_leaving_removes_only_envr_path_entries(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    (root / "sub").mkdir(parents=True)
    file = write_project(root, {"A": "1"}, prepend=["bin"], append=["late"])
    session.allow(file)
    sh.cd(root)
    if sh.kind == "fish":
        sh.run("set -gx PATH /user/front $PATH /user/back")
    else:
        sh.run('export PATH="/user/front:$PATH:/user/back"')
    sh.cd(root / "sub")  # the core runs again inside: the user's entries stay, where the user put them
    assert sh.path() == ["/user/front", f"{root}/bin", *SYSTEM_PATH.split(":"), f"{root}/late", "/user/back"]

    sh.cd(session.work)

    assert sh.path() == ["/user/front", *SYSTEM_PATH.split(":"), "/user/back"]


def test_a_variable_changed_inside_keeps_the_users_value_and_says_so(session: Session, sh: Shell) -> None:
    sh.export("EDITED", "before")
    root = session.work / "proj"
    (root / "sub").mkdir(parents=True)
    file = write_project(root, {"EDITED": "from envr", "UNTOUCHED": "from envr"})
    session.allow(file)
    sh.cd(root)
    sh.export("EDITED", "mine now")

    # Moving around inside runs the core again (new $PWD): it must not put envr's value back.
    assert sh.cd(root / "sub").hook == []
    assert sh.var("EDITED") == "mine now"

    res = sh.cd(session.work)

    assert len(res.hook) == 1, res.hook
    assert res.hook[0].startswith(f"envr: unloaded {root}") and "kept EDITED" in res.hook[0], res.hook
    env = sh.environ()
    assert env["EDITED"] == "mine now"
    assert "UNTOUCHED" not in env


def test_cd_from_one_project_straight_into_a_sibling(session: Session, sh: Shell) -> None:
    a, b = session.work / "a", session.work / "b"
    session.allow(write_project(a, {"ONLY_A": "a", "SHARED": "from a"}, prepend=["bin-a"]))
    session.allow(write_project(b, {"ONLY_B": "b", "SHARED": "from b"}, prepend=["bin-b"]))
    sh.cd(a)

    res = sh.cd(b)

    assert len(res.hook) == 1, res.hook
    assert f"unloaded {a}" in res.hook[0] and f"loaded {b}" in res.hook[0]
    env = sh.environ()
    assert "ONLY_A" not in env
    assert (env["ONLY_B"], env["SHARED"], env["ENVR_ROOT"]) == ("b", "from b", str(b))
    assert env["PATH"] == f"{b}/bin-b:{SYSTEM_PATH}"


def test_subdirectories_keep_the_project_and_a_nested_project_replaces_it(session: Session, sh: Shell) -> None:
    outer = session.work / "outer"
    inner = outer / "sub" / "inner"
    (outer / "sub" / "deeper").mkdir(parents=True)
    session.allow(write_project(outer, {"WHICH": "outer", "OUTER_ONLY": "o"}, prepend=["obin"]))
    session.allow(write_project(inner, {"WHICH": "inner", "INNER_ONLY": "i"}, prepend=["ibin"]))
    sh.cd(outer)
    outer_env = sh.state()

    res = sh.cd(outer / "sub" / "deeper")
    assert res.hook == []
    assert sh.state() == outer_env

    res = sh.cd(inner)
    assert len(res.hook) == 1 and f"loaded {inner}" in res.hook[0], res.hook
    env = sh.environ()
    assert (env["WHICH"], env["INNER_ONLY"], env["ENVR_ROOT"]) == ("inner", "i", str(inner))
    assert "OUTER_ONLY" not in env
    assert env["PATH"] == f"{inner}/ibin:{SYSTEM_PATH}"

    res = sh.cd(outer / "sub")
    assert len(res.hook) == 1 and f"unloaded {inner}" in res.hook[0] and f"loaded {outer}" in res.hook[0]
    assert sh.state() == outer_env


def test_envr_quiet_silences_load_and_unload(session: Session, sh: Shell) -> None:
    root = session.work / "proj"
    sh.export("CHANGED_INSIDE", "before")
    session.allow(write_project(root, {"A": "1", "CHANGED_INSIDE": "envr"}, prepend=["bin"]))
    sh.export("ENVR_QUIET", "1")

    res = sh.cd(root)
    assert res.hook == [] and res.raw.strip("\r \u23ce") == ""
    assert sh.environ()["A"] == "1"
    sh.export("CHANGED_INSIDE", "mine")

    res = sh.cd(session.work)
    assert res.hook == [] and res.raw.strip("\r \u23ce") == ""
    env = sh.environ()
    assert "A" not in env and env["CHANGED_INSIDE"] == "mine"

    sh.unset("ENVR_QUIET")  # the same moves speak again
    assert len(sh.cd(root).hook) == 1
