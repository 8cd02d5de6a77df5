"""Realising a store path: atomic, locked, and safe to kill at any moment.

    cheap check -> flock(<store>/.flocks/<path>.flock) -> check again -> clean leftovers -> build
    -> expose bins in <path>/.envr/bin -> hash -> make read-only -> rename(2) into place -> register the row

Sources that embed their own path (build scripts using $out) build at the final path under the lock instead;
for every kind, validity is the registry row, which is written last. A kill -9 leaves at worst an unregistered
directory or a .tmp-* sibling, which the next realise of that path removes under the same lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from envr import dirs
from envr.errors import EnvrError
from envr.store import BIN_DIR, looks_valid, registry
from envr.store.flocks import path_flock, store_flock
from envr.store.hashing import tree_hash
from envr.store.sources.base import PackageSpec, RealiseContext
from envr.store.tree import force_remove, make_read_only

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.sources.base import Source


def realise(
    store: str,
    store_path: str,
    recipe: Any,
    source: Source,
    spec: PackageSpec,
    inputs: Mapping[str, str],
    environ: Mapping[str, str],
    say: Callable[[str], None] = lambda _: None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> bool:
    """Make store_path valid; returns True if this call built it, False if it was (or became) valid meanwhile."""
    if registry.valid(store, [store_path]):
        if not looks_valid(store_path):  # killed between the row and its marker
            registry.mark_valid(store_path)
        return False
    with store_flock(store), path_flock(store, store_path):  # gc waits while any realise runs
        if registry.valid(store, [store_path]):
            return False
        clean_leftovers(store, store_path)
        from envr.store.cache.substitute import recipe_hash, substitute  # a trusted binary cache first

        if substitute(store, store_path, recipe_hash(recipe), environ, say, progress):
            return True
        in_place = bool(getattr(source, "builds_in_place", lambda _s: False)(spec))
        work = store_path if in_place else os.path.join(store, f".tmp-{os.path.basename(store_path)}-{os.getpid()}")
        os.mkdir(work)
        log = Path(dirs.state_dir(), "logs", os.path.basename(store_path) + ".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        name = spec.name

        def transferred(done: int, total: int | None) -> None:
            if progress is not None:
                progress(name, done, total)

        ctx = RealiseContext(log, {k: Path(v) for k, v in inputs.items()}, transferred, environ)
        say(f"realising {spec.name} ({spec.kind}) -> {store_path}")
        started = time.monotonic()
        try:
            source.realise(spec, Path(work), ctx)
            expose_bins(work, source.bins(spec, Path(work)), spec)
            content_hash, size = tree_hash(work)
            make_read_only(work)
            if not in_place:
                os.rename(work, store_path)
        except BaseException:
            force_remove(work)
            raise
        registry.register(store, store_path, recipe, size, content_hash, inputs.values())
        say(f"realised {spec.name} in {time.monotonic() - started:.1f}s")
        return True


def clean_leftovers(store: str, store_path: str) -> None:
    """Remove what an interrupted realise of store_path left behind. Call only under its lock."""
    prefix = f".tmp-{os.path.basename(store_path)}-"
    for name in os.listdir(store):
        if name.startswith(prefix):
            force_remove(os.path.join(store, name))
    if os.path.lexists(store_path):
        force_remove(store_path)


def expose_bins(out: str, executables: list[str], spec: PackageSpec) -> None:
    target_dir = os.path.join(out, BIN_DIR)
    os.makedirs(target_dir, exist_ok=True)
    real_out = os.path.realpath(out)
    for rel in executables:
        full = os.path.join(out, rel)
        real = os.path.realpath(full)
        if os.path.isabs(rel) or not (real == real_out or real.startswith(real_out + os.sep)):
            raise EnvrError(f"{spec.name}: executable {rel!r} is outside the package")
        if not os.path.isfile(real):
            raise EnvrError(f"{spec.name}: executable {rel!r} does not exist in the package")
        link = os.path.join(target_dir, os.path.basename(rel))
        if os.path.lexists(link):
            raise EnvrError(f"{spec.name}: two executables named {os.path.basename(rel)!r} in the package")
        os.symlink(os.path.relpath(full, target_dir), link)
