"""Realising a store path: atomic, locked, and safe to kill at any moment.

    cheap check -> flock(<store>/.gc.flock shared) -> flock(<store>/.flocks/<path>.flock) -> check again
    -> clean leftovers -> build -> check the output -> expose bins in <path>/.envr/bin -> hash
    -> write <path>/.envr/info -> make read-only -> rename(2) into place -> register the row, then the marker

Sources that embed their own path (build scripts using $out) build at the final path under the path flock
instead; the build inherits that flock, so processes a killed build left behind keep it, and no later realise
touches the path before they are gone (store/sources/_tree.py kills the build's processes when it ends). For
every kind, validity is the registry row, which is written last. A kill -9 leaves at worst an unregistered
directory or a .tmp-* sibling, which the next realise of that path removes under the same flock.

Every OSError on the way (a full disk, a read-only store, a fifo the build left) becomes one StoreError naming
the package, the path and the cause; whatever was half-made is removed, and nothing is registered.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from envr import dirs
from envr.errors import EnvrError
from envr.store import BIN_DIR, INFO_FILE, StoreError, looks_valid, registry
from envr.store.flocks import path_flock, store_flock
from envr.store.hashing import canonical_json, tree_hash
from envr.store.sources.base import PackageSpec, RealiseContext
from envr.store.tree import force_remove, make_read_only

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.sources.base import Source


class _Context(RealiseContext):
    """The context a source gets, plus the descriptors a build must inherit (the path's flock)."""

    def __init__(self, *args: Any, keep_fds: tuple[int, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_fds = keep_fds


def describe(e: OSError) -> str:
    """'<file>: <reason>' for an OSError, whichever way it was raised."""
    reason = e.strerror or (str(e.args[0]) if e.args else type(e).__name__)
    where = e.filename if e.filename is not None else None
    if e.filename2 is not None:
        where = f"{e.filename} -> {e.filename2}"
    return f"{where}: {reason}" if where else reason


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
    try:
        if registry.valid(store, [store_path]):
            if not looks_valid(store_path):  # killed between the row and its marker
                with contextlib.suppress(OSError):  # a read-only store: the prompt loads it without the marker
                    registry.mark_valid(store_path)
            return False
        return _realise(store, store_path, recipe, source, spec, inputs, environ, say, progress)
    except OSError as e:
        what = os.path.basename(store_path) if e.filename is not None else store_path  # the file names the store
        raise StoreError(f"packages.{spec.name}: cannot realise {what}: {describe(e)}") from None


def _realise(
    store: str,
    store_path: str,
    recipe: Any,
    source: Source,
    spec: PackageSpec,
    inputs: Mapping[str, str],
    environ: Mapping[str, str],
    say: Callable[[str], None],
    progress: Callable[[str, int, int | None], None] | None,
) -> bool:
    name = spec.name
    base = os.path.basename(store_path)

    def waiting() -> None:
        say(f"waiting for {name}: another envr is realising {base}, or a killed build left processes running")

    # gc waits while any realise runs
    with store_flock(store), path_flock(store, store_path, waiting) as flock_fd:
        if registry.valid(store, [store_path]):
            return False
        registry.ensure(store)
        clean_leftovers(store, store_path)
        from envr.store.cache.substitute import recipe_hash, substitute  # a trusted binary cache first

        if substitute(store, store_path, recipe_hash(recipe), environ, say, progress):
            return True
        in_place = bool(getattr(source, "builds_in_place", lambda _s: False)(spec))
        work = store_path if in_place else os.path.join(store, f".tmp-{base}-{os.getpid()}")
        os.mkdir(work)
        log = Path(dirs.state_dir(), "logs", base + ".log")
        log.parent.mkdir(parents=True, exist_ok=True)

        def transferred(done: int, total: int | None) -> None:
            if progress is not None:
                progress(name, done, total)

        ctx = _Context(log, {k: Path(v) for k, v in inputs.items()}, transferred, environ, keep_fds=(flock_fd,))
        say(f"realising {name} ({spec.kind}) -> {base}")
        started = time.monotonic()
        try:
            source.realise(spec, Path(work), ctx)
            check_output(work, spec)
            expose_bins(work, source.bins(spec, Path(work)), spec)
            content_hash, size = tree_hash(work)
            write_info(work, base, recipe, content_hash, size, inputs.values())
            make_read_only(work)
            if not in_place:
                os.rename(work, store_path)
        except BaseException:
            with contextlib.suppress(OSError):
                force_remove(work)
            raise
        try:
            registry.register(store, store_path, recipe, size, content_hash, inputs.values())
        except BaseException:
            with contextlib.suppress(OSError, EnvrError):  # never leave a row without its tree, or the reverse
                registry.unregister(store, [store_path])
            with contextlib.suppress(OSError):
                force_remove(store_path)
            raise
        say(f"realised {name} in {time.monotonic() - started:.1f}s")
        return True


def clean_leftovers(store: str, store_path: str) -> None:
    """Remove what an interrupted realise of store_path left behind. Call only under its flock."""
    prefix = f".tmp-{os.path.basename(store_path)}-"
    for name in os.listdir(store):
        if name.startswith(prefix):
            force_remove(os.path.join(store, name))
    force_remove(store_path)


def check_output(out: str, spec: PackageSpec) -> None:
    """What the source (or its build script) left must be a real directory envr can own: never a symlink
    (realise would otherwise hash, expose and chmod what it points at), never deleted, no `.envr` of its own."""
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        # A deleted $out is refused rather than registered empty: it is nearly always a script that meant
        # `rm -rf "$out"/*`, and an empty package would load without a word and without its tools.
        raise StoreError(f"packages.{spec.name}: the build deleted $out ({out}); it must install into it") from None
    if stat.S_ISLNK(st.st_mode):
        raise StoreError(
            f"packages.{spec.name}: the build replaced $out by a symlink to {os.readlink(out)}; refused "
            "(nothing it points at was changed): install into $out itself"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"packages.{spec.name}: the build replaced $out ({out}) by a file; install into $out")
    if os.path.lexists(os.path.join(out, ".envr")):
        raise StoreError(f"packages.{spec.name}: the package has its own .envr entry, which envr reserves for itself")


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


def write_info(out: str, name: str, recipe: Any, content_hash: str, size: int, references: Any) -> None:
    """The path's own record, from which `envr store repair` re-registers it (excluded from its hash)."""
    info = {
        "name": name,
        "recipe": recipe,
        "hash": content_hash,
        "size": size,
        "references": sorted(os.path.basename(str(r)) for r in references),
    }
    fd = os.open(os.path.join(out, INFO_FILE), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(canonical_json(info) + "\n")
