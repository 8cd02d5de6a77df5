"""Package sources: one module per kind behind the Source interface (base.py).

Adding a kind is one new module here plus its entry in KINDS. Nothing outside this package names a kind:
the rest of envr asks the registry (source_for) and the Source members. `_tree.py` (what url and path trees
share: bin globs, build scripts) and `_archive.py` (safe unpacking) are helpers, not kinds. `fetching()`
marks the work (a sync) during which a runtime's index may be downloaded to name a store path. Kinds are imported
lazily, each when first needed, and keep their heavy imports inside the functions that need them.
"""

from __future__ import annotations

from importlib import import_module

from envr.store.sources._downloads import fetching
from envr.store.sources.base import CliSpec, PackageSpec, RealiseContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.sources.base import Source  # each kind's SOURCE is annotated with it, so mypy checks it whole

KINDS = ("url", "path", "pypi", "npm", "node", "python", "go")  # a "build" is a url or path entry with a `build` script

__all__ = ["KINDS", "CliSpec", "PackageSpec", "RealiseContext", "Source", "fetching", "source_for"]


def source_for(kind: str) -> Source:
    """The source of kind (one of KINDS); importing its module on first use."""
    if kind not in KINDS:
        raise KeyError(kind)
    source: Source = import_module(f"envr.store.sources.{kind}").SOURCE
    return source
