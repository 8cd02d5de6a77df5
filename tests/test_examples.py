"""The example projects in envrc/ are part of the docs; running them here keeps them from rotting."""

from __future__ import annotations

from pathlib import Path

from envr_testing import run_envr

EXAMPLES = Path(__file__).resolve().parent.parent / "envrc"


def test_hello_example_runs_its_tool(isolated: Path) -> None:
    hello = EXAMPLES / "hello"
    assert run_envr("allow", str(hello), cwd=isolated).returncode == 0
    r = run_envr("exec", str(hello), "--", "hello", cwd=isolated)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"hello from envr (data in {hello}/data)"
