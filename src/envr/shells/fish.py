"""fish: single quotes where only \\ and ' are special; PATH is a list."""

from __future__ import annotations

TYPE_CHECKING = False  # collections.abc and typing cost the prompt ~1-2 ms; annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class FishRenderer:
    def quote(self, value: str) -> str:
        return quote(value)

    def export(self, name: str, value: str) -> str:
        if name == "PATH":
            # fish keeps PATH as a list and joins it with ':' for children; an empty PATH is an empty list.
            items = value.split(":") if value else []
            return "set -gx PATH " + " ".join(quote(v) for v in items)
        return f"set -gx {name} {quote(value)}"

    def unset(self, name: str) -> str:
        return f"set -e -g {name}"

    def assign(self, name: str, value: str) -> str:
        return f"set -g {name} {quote(value)}"

    def assign_list(self, name: str, values: Sequence[str]) -> str:
        return f"set -g {name} " + " ".join(quote(v) for v in values)


RENDERER = FishRenderer()
