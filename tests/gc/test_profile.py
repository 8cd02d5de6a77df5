"""envr profile: install, remove, rollback and switch; repeats reuse generations; bad input changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

from envr.history import profile
from gc_helpers import ok, run_envr, tool_dir


def _tools(isolated: Path) -> tuple[Path, Path]:
    a = tool_dir(isolated / "a" / "bin", "a", "1").parent
    b = tool_dir(isolated / "b" / "bin", "b", "1").parent
    return a, b


def _bins() -> list[str]:
    return sorted(os.listdir(profile.bin_entry()))


def _state() -> tuple[int, list[int], list[str]]:
    return profile.current(), profile.numbers(), _bins()


def test_install_remove_and_rollback_make_and_switch_generations(isolated: Path) -> None:
    a, b = _tools(isolated)
    ok("profile", "install", f"path:{a}", cwd=isolated)
    assert _state() == (1, [1], ["a"])
    r = ok("profile", "install", f"path:{b}", cwd=isolated)
    assert "profile generation 2 (new)" in r.stderr
    assert _state() == (2, [1, 2], ["a", "b"])
    listed = ok("profile", "list", cwd=isolated).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["a", f"path:{a}"], ["b", f"path:{b}"]]
    ok("profile", "remove", "a", cwd=isolated)
    assert _state() == (3, [1, 2, 3], ["b"])
    assert os.path.islink(profile.current_link())  # flipped, never a directory in place
    ok("profile", "rollback", cwd=isolated)
    assert _state() == (2, [1, 2, 3], ["a", "b"])
    ok("profile", "switch-generation", "3", cwd=isolated)
    assert _state() == (3, [1, 2, 3], ["b"])
    gens = ok("profile", "generations", cwd=isolated).stdout
    assert "+b local" in gens and "-a local" in gens and gens.rstrip().endswith("(current)")


def test_repeating_an_operation_reuses_the_generation_it_yields(isolated: Path) -> None:
    a, b = _tools(isolated)
    ok("profile", "install", f"path:{a}", cwd=isolated)
    ok("profile", "install", f"path:{b}", cwd=isolated)
    r = ok("profile", "install", f"path:{b}", cwd=isolated)
    assert "profile generation 2 (reused)" in r.stderr
    ok("profile", "remove", "b", cwd=isolated)  # the same set as generation 1
    assert _state() == (1, [1, 2], ["a"])


def test_bad_input_is_one_line_a_non_zero_exit_and_changes_nothing(isolated: Path) -> None:
    a, _ = _tools(isolated)
    r = run_envr("profile", "rollback", cwd=isolated)
    assert r.returncode != 0 and r.stderr == "envr: the profile has no generations yet\n"
    ok("profile", "install", f"path:{a}", cwd=isolated)
    before = _state()
    for args, says in (
        (("profile", "remove", "nope"), "nope is not installed in the profile"),
        (("profile", "rollback"), "nothing to roll back to"),
        (("profile", "switch-generation", "7"), "has no generation 7"),
        (("profile", "install", "bogus"), "give a package as"),
        (("profile", "install", f"path:{isolated / 'missing'}"), "does not exist"),
    ):
        r = run_envr(*args, cwd=isolated)
        assert r.returncode != 0, args
        assert says in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
        assert _state() == before


def test_profile_specs_are_named_as_envr_add_names_them(isolated: Path) -> None:
    from envr.project import cli_specs

    def named(text: str) -> tuple[str, object]:
        spec = cli_specs.parse(text, str(isolated))
        return spec.name, spec.entry

    assert named("pypi:cowsay==6.1") == ("cowsay", "pypi:cowsay==6.1")
    assert named("pypi:Cow_Say==6.1") == ("cow-say", "pypi:Cow_Say==6.1")  # canonical, as envr add names it
    assert named("npm:@scope/tool@1.2.0") == ("tool", "npm:@scope/tool@1.2.0")
    assert named("cs=pypi:cowsay") == ("cs", "pypi:cowsay")
    assert named("path:./x") == ("x", {"path": str(isolated / "x")})
