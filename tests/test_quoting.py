"""Quoting, one function per shell, checked by evaluating its output in the real shell."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envr.shells import fish, posix

# Anything an environment can hold: every code point but NUL and lone surrogates.
hostile = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=40) | st.sampled_from(
    ["'", "\\'", "$(touch pwned)", "`id`", "a\nb", "\t", "\x1b[31m", "שלום \u202e", "🎉", "\\", "$HOME", "!!"]
)


def roundtrip(argv: list[str], script: str) -> bytes:
    return subprocess.run(argv, input=script.encode(), capture_output=True, check=True, timeout=10).stdout


@pytest.mark.parametrize("shell", ["bash", "zsh"])
@settings(max_examples=60, deadline=None)
@given(value=hostile)
def test_posix_quote_roundtrips(shell: str, value: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    out = roundtrip([shell, "-f" if shell == "zsh" else "--norc"], f'x={posix.quote(value)}; printf %s "$x"')
    assert out == value.encode()


@settings(max_examples=60, deadline=None)
@given(value=hostile)
def test_fish_quote_roundtrips(value: str) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish not installed")
    out = roundtrip(["fish", "--no-config"], f'set x {fish.quote(value)}; printf %s "$x"')
    assert out == value.encode()
