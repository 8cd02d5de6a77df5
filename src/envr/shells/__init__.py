"""The shells envr hooks into, one module each behind one interface, and the formats `envr export` prints.

A shell module knows its quoting, how its hook script is named, and how to render what the core decided (the
environment change and the hook's own state, hookstate.py) as that shell's code; its hook script lives in
shell-integrations/. The quote function is the only place a value becomes shell text, and it is
property-tested through the real shell. Adding a shell is one module here, one script, and its tests.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Protocol

    from envr.shells.hookstate import HookState

    class Shell(Protocol):
        name: str
        script: str  # its hook script in shell-integrations/
        prefix: str  # the hook's own variables and functions start with this

        def quote(self, value: str) -> str: ...

        def export(self, name: str, value: str) -> str: ...

        def unset(self, name: str) -> str: ...

        def assign(self, name: str, value: str) -> str: ...

        def assign_list(self, name: str, values: Sequence[str]) -> str: ...

        def render(self, delta: Mapping[str, str | None]) -> str: ...

        def state(self, hs: HookState, partial: bool = False) -> str: ...


HOOK_SHELLS = ("bash", "zsh", "fish")


def shell(name: str) -> Shell:
    if name not in HOOK_SHELLS:
        raise ValueError(name)
    found: Shell = import_module(f"envr.shells.{name}").SHELL
    return found
