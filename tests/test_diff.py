"""Apply and revert as pure functions: the exact-restore guarantees the hooks rely on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from envr.project.templates import interpolate, literal, names_read
from envr.prompt.activate import Activation
from envr.prompt.state import STATE_VAR, State, apply, changes, pack, revert, unpack

values = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=30)


def activate(base: dict[str, str], vars: dict[str, str | None], pre=(), app=()) -> dict[str, str]:  # type: ignore[no-untyped-def]
    act = Activation("/p", dict(vars), list(pre), list(app))
    out, _ = apply(base, act, "/p/envr.toml", "d")
    return out


def test_interpolation() -> None:
    env = {"HOME": "/h", "EMPTY": ""}
    assert interpolate("${HOME}/x", env) == "/h/x"
    assert interpolate("${MISSING}|${EMPTY}|", env) == "||"
    assert interpolate("$$5 $HOME ${ not} $", env) == "$5 $HOME ${ not} $"
    assert interpolate("$${HOME}", env) == "${HOME}"
    # the names it reads and the least it can be come from the same scan
    assert names_read("$${HOME} ${A}x${B} ${ not} $$$${C} ${${D}}") == ["A", "B", "D"]  # $$$$ is two $: {C} is text
    assert literal("a${X}b$$c${ y}") == "ab$c${ y}"


def test_revert_restores_value_empty_and_unset() -> None:
    base = {"A": "old", "B": "", "PATH": "/usr/bin"}
    inside = activate(base, {"A": "new", "B": "set", "C": "fresh", "B2": None})
    assert inside["A"] == "new" and inside["C"] == "fresh"
    back, kept = revert(inside, State.decode(inside[STATE_VAR]))
    assert back == base
    assert kept == []


def test_unset_var_comes_back() -> None:
    base = {"X": "1"}
    inside = activate(base, {"X": None})
    assert "X" not in inside
    assert revert(inside, State.decode(inside[STATE_VAR]))[0] == base


def test_user_change_inside_is_kept() -> None:
    base = {"A": "old"}
    inside = activate(base, {"A": "new"})
    inside["A"] = "mine"
    back, kept = revert(inside, State.decode(inside[STATE_VAR]))
    assert back["A"] == "mine"
    assert kept == ["A"]


def test_path_removes_only_envr_entries() -> None:
    base = {"PATH": "/usr/bin:/bin"}
    inside = activate(base, {}, ["/p/bin", "/usr/bin"], ["/p/tools"])
    assert inside["PATH"] == "/p/bin:/usr/bin:/usr/bin:/bin:/p/tools"
    inside["PATH"] = "/mine:" + inside["PATH"] + ":/mine2"
    back, _ = revert(inside, State.decode(inside[STATE_VAR]))
    assert back["PATH"] == "/mine:/usr/bin:/bin:/mine2"


def test_reloads_do_not_duplicate_path() -> None:
    env = {"PATH": "/bin"}
    for _ in range(5):
        base, _ = revert(env, State.decode(env.get(STATE_VAR)))
        env = activate(base, {"A": "1"}, ["/p/bin"], ["/p/t"])
    assert env["PATH"] == "/p/bin:/bin:/p/t"


def test_unset_path_is_unset_again() -> None:
    inside = activate({}, {}, ["/p/bin"])
    assert inside["PATH"] == "/p/bin"
    assert "PATH" not in revert(inside, State.decode(inside[STATE_VAR]))[0]


def test_changes_lists_sets_and_unsets() -> None:
    assert changes({"A": "1", "B": "2"}, {"A": "1", "B": "3", "C": "4"}) == {"B": "3", "C": "4"}
    assert changes({"A": "1"}, {}) == {"A": None}


def test_garbage_state_is_ignored() -> None:
    good = State("/p", "/p/envr.toml", "d", {"A": (None, "1")})
    assert State.decode(good.encode()) is not None  # what the cases below break is a state that decodes
    decoded = unpack(good.encode())
    assert isinstance(decoded, dict)
    fields: dict[str, object] = decoded
    for text in ["", "{", "[]", "null", "x" + good.encode(), good.encode()[:-1], good.encode() + "e"]:
        assert State.decode(text) is None, text
    broken: list[dict[str, object]] = [
        {"v": 99},
        {"v": 1},
        {"vars": {"x;touch y": [None, "1"]}},
        {"pre": [1]},
        {"root": None},
    ]
    for change in broken:
        assert State.decode(pack({**fields, **change})) is None, change


@given(
    st.dictionaries(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), values, max_size=5),
    st.dictionaries(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), st.none() | values, max_size=5),
)
def test_apply_then_revert_is_identity(base: dict[str, str], vars: dict[str, str | None]) -> None:
    base = {**base, "PATH": "/usr/bin:/bin"}
    inside = activate(base, vars, ["/p/bin"], ["/p/t"])
    state = State.decode(inside[STATE_VAR])
    assert state is not None
    assert revert(inside, state)[0] == base


nested = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@given(nested)
def test_pack_roundtrips_and_is_ascii(value: object) -> None:
    text = pack(value)
    assert text.isascii()
    assert unpack(text) == value


def test_pack_keeps_surrogate_escapes() -> None:
    raw = b"caf\xe9\n\x00".decode("utf-8", "surrogateescape").replace("\x00", "")
    assert unpack(pack([raw])) == [raw]


def test_unpack_rejects_garbage() -> None:
    import pytest

    for text in ["", "s5:ab", "lx", "d s1:ae", "i12", "ne"]:
        with pytest.raises(ValueError):
            unpack(text)


def test_a_rerun_in_the_same_project_keeps_the_users_path_order() -> None:
    from envr.prompt.state import keep_changed

    base = {"PATH": "/usr/bin"}
    inside = activate(base, {}, ["/p/bin"])
    inside["PATH"] = "/mine:" + inside["PATH"]  # the user put their own entry first
    old = State.decode(inside[STATE_VAR])
    again, kept = revert(inside, old)
    target = activate(again, {}, ["/p/bin"])
    assert target["PATH"] == "/p/bin:/mine:/usr/bin"  # what a plain re-apply would do
    new = State.decode(target[STATE_VAR])
    assert old is not None and new is not None
    keep_changed(inside, old, new, kept, target)
    assert target["PATH"] == "/mine:/p/bin:/usr/bin"
