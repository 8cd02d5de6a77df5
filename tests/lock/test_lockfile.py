"""envr.lock's text format and the parsing of uv's compile output, without running anything."""

from __future__ import annotations

import tomllib

import pytest

from envr.project.lockfile import Lock, LockError, differences, parse, render, section_hash
from envr.store.sources.pypi import locked_requirements, parse_compiled
from envr.team.lock import changes

COMPILED = """\
black==24.8.0 \\
    --hash=sha256:bbbb \\
    --hash=sha256:aaaa
click==8.1.7 \\
    --hash=sha256:cccc
    # via black
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:dddd
"""


def sample() -> Lock:
    return Lock(
        section_hash({"black": "pypi:black==24.8.0"}),
        {
            "black": {
                "kind": "pypi",
                "entry": '"pypi:black==24.8.0"',
                "version": "24.8.0",
                "python": "3.11",
                "requirements": ["black==24.8.0", "colorama==0.4.6 ; sys_platform == 'win32'"],
                "hashes": ["black==24.8.0 sha256:aaaa"],
            },
            'we ird"name': {
                "kind": "npm",
                "entry": '"npm:x@1.0.0"',
                "version": "1.0.0",
                "tree": {"node_modules/x": '{"integrity":"sha512-\\u007f","version":"1.0.0"}'},
            },
        },
    )


def test_render_is_toml_that_parses_back_to_the_same_lock() -> None:
    text = render(sample())
    assert tomllib.loads(text)["version"] == 1
    back = parse(text)
    assert back.packages == sample().packages and back.packages_hash == sample().packages_hash
    assert render(back) == text  # stable: rendering what was read changes nothing


def test_one_fact_per_line_sorted() -> None:
    lines = render(sample()).splitlines()
    assert '    "black==24.8.0 sha256:aaaa",' in lines
    assert lines.index("[packages.black]") < lines.index('[packages."we ird\\"name"]')


def test_parse_compiled_gives_sorted_requirements_and_one_hash_per_artifact() -> None:
    requirements, hashes = parse_compiled(COMPILED)
    assert requirements == ["black==24.8.0", "click==8.1.7", "colorama==0.4.6 ; sys_platform == 'win32'"]
    assert hashes == [
        "black==24.8.0 sha256:aaaa",
        "black==24.8.0 sha256:bbbb",
        "click==8.1.7 sha256:cccc",
        "colorama==0.4.6 sha256:dddd",
    ]
    text = locked_requirements({"requirements": requirements, "hashes": hashes})
    assert "colorama==0.4.6 ; sys_platform == 'win32' --hash=sha256:dddd" in text
    assert "black==24.8.0 --hash=sha256:aaaa --hash=sha256:bbbb" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = [", "cannot parse"),
        ('version = 2\npackages_hash = "x"\n', "lock format version 2, but this envr reads version 1"),
        ("version = 1\n", "missing packages_hash"),
        ('version = 1\npackages_hash = "x"\n[packages.a]\nkind = "pypi"\n', "packages.a is incomplete"),
    ],
)
def test_bad_locks_say_what_is_wrong_and_name_envr_lock(text: str, message: str) -> None:
    with pytest.raises(LockError) as err:
        parse(text, "/p/envr.lock")
    assert message in str(err.value) and "envr lock" in str(err.value)
    assert "\n" not in str(err.value)


def test_differences_and_changes_read_well() -> None:
    lock = sample()
    diff = differences({"black": "pypi:black==24.9.0", "ruff": "pypi:ruff"}, lock)
    assert diff == [
        '~ black: envr.toml has "pypi:black==24.9.0", envr.lock was made from "pypi:black==24.8.0"',
        "+ ruff: in envr.toml, not in envr.lock",
        '- we ird"name: in envr.lock, no longer in envr.toml',
    ]
    newer = Lock(lock.packages_hash, {"black": {**lock.packages["black"], "version": "24.9.0"}})
    assert changes(lock, newer) == ["~ black 24.8.0 -> 24.9.0", '- we ird"name 1.0.0']


def test_section_hash_ignores_layout_but_not_meaning() -> None:
    assert section_hash({"a": "pypi:a==1", "b": {"path": "."}}) == section_hash({"b": {"path": "."}, "a": "pypi:a==1"})
    assert section_hash({"a": "pypi:a==1"}) != section_hash({"a": "pypi:a==2"})
