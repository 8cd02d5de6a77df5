"""Quoting shared by bash and zsh: single quotes carry every byte literally, except ' itself."""

from __future__ import annotations

TYPE_CHECKING = False  # collections.abc and typing cost the prompt ~1-2 ms; annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence


def quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


class PosixRenderer:
    def quote(self, value: str) -> str:
        return quote(value)

    def export(self, name: str, value: str) -> str:
        return f"export {name}={quote(value)}"

    def unset(self, name: str) -> str:
        return f"unset {name}"

    def assign(self, name: str, value: str) -> str:
        return f"{name}={quote(value)}"

    def assign_list(self, name: str, values: Sequence[str]) -> str:
        return f"{name}=(" + " ".join(quote(v) for v in values) + ")"
