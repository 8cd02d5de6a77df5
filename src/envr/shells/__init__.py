"""Rendering environment changes for each shell.

Each shell module knows its own quoting and nothing else; the quote function is the only place where a value
becomes shell text, and it is property-tested through the real shell.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing's import costs the prompt ~2 ms
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Protocol

    class Renderer(Protocol):
        def quote(self, value: str) -> str: ...

        def export(self, name: str, value: str) -> str: ...

        def unset(self, name: str) -> str: ...

        def assign(self, name: str, value: str) -> str: ...

        def assign_list(self, name: str, values: Sequence[str]) -> str: ...


HOOK_SHELLS = ("bash", "zsh", "fish")


def renderer(shell: str) -> Renderer:
    if shell not in HOOK_SHELLS:
        raise ValueError(shell)
    module = import_module(f"envr.shells.{shell}")
    return module.RENDERER  # type: ignore[no-any-return]


def render_changes(shell: str, delta: Mapping[str, str | None]) -> str:
    """Shell code that applies delta (NAME -> value, None to unset)."""
    r = renderer(shell)
    lines = []
    for name, value in delta.items():
        lines.append(r.unset(name) if value is None else r.export(name, value))
    return "".join(line + "\n" for line in lines)
