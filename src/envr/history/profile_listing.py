"""The profile's tools as `envr ls --profile` shows them: read from the current generation's manifest and the
store registry, nothing resolved, built or written."""

from __future__ import annotations

from envr.history import profile
from envr.history.generations import version_of
from envr.project.listing import Row
from envr.store import registry
from envr.store.sources import KINDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def kind_of(typed: str) -> str:
    """The kind of a spec as typed (`pypi:cowsay==6.1`, `hello=path:DIR`); '?' if it names none."""
    head = typed.partition(":")[0].rpartition("=")[2]
    return head if head in KINDS else "?"


def profile_rows(environ: Mapping[str, str]) -> list[Row]:
    """The current profile generation's tools, by name."""
    from envr.store import store_dir

    tools = profile.manifest(profile.current())
    valid = registry.valid(store_dir(environ), [path for _, path in tools.values()])
    return [
        Row(name, kind_of(typed), version_of(path, name), path, path in valid)
        for name, (typed, path) in sorted(tools.items())
    ]
