"""Package sources: one module per kind (url, build, path, pypi, npm) behind the Source interface.

Adding a kind is one new module here plus its entry in KINDS; nothing else in envr names a kind.
"""

from __future__ import annotations

from importlib import import_module

from envr.store.sources.base import PackageSpec, RealiseContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.sources.base import Source

KINDS = ("url", "path", "pypi", "npm")  # "build" is a url (or path) entry with a `build` script

__all__ = ["KINDS", "PackageSpec", "RealiseContext", "Source", "source_for"]


def source_for(kind: str) -> Source:
    module = import_module(f"envr.store.sources.{kind}")
    return module.SOURCE  # type: ignore[no-any-return]
