"""The shared, content-addressed store: where realised packages live, one immutable directory each.

Layout of a store (ENVR_STORE, or <data dir>/store):

    <store>/<hash>-<name>-<version>/   a store path; valid only while the registry has its row
    <store>/<path>/.envr/bin/           links to the executables it puts on PATH
    <store>/<path>/.envr/info           its record (recipe, content hash, references), written before it is made
                                        read-only and left out of its own content hash: `envr store repair`
                                        re-registers a path whose content still matches it
    <store>/.registry.sqlite            the registry (stdlib sqlite3): recipe, size, content hash, references
    <store>/.valid/<store path>         an empty file per registered path, created after its row and removed
                                        before it: the prompt's cheap check is one stat, no sqlite import
    <store>/.flocks/<store path>.flock  per-path flock taken while realising or removing that path
    <store>/.gc.flock                   held shared by realise and sync, exclusively by gc (store/flocks.py)
    <store>/.roots/tmp/                 temporary gc roots of running processes (store/roots.py)
    <store>/.tmp-<path>-<pid>,          work and removal in progress; cleaned under the path's flock or by gc
    <store>/.trash-<path>-<pid>

Only names of these forms are envr's. Anything else in the directory is foreign: gc, verify and repair leave
it alone and say so once (ENVR_STORE may point at a directory that holds other things).

The registry lives inside the store (not beside approvals) because validity belongs to the store it describes:
pointing ENVR_STORE elsewhere must never make a directory there look valid.
This module stays import-light: the prompt hook reaches it through envr.packages.
"""

from __future__ import annotations

import os

from envr import dirs
from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

REGISTRY = ".registry.sqlite"
VALID = ".valid"
BIN_DIR = os.path.join(".envr", "bin")
INFO_FILE = os.path.join(".envr", "info")
HASH_CHARS = 32
# envr's own bookkeeping entries in a store directory (everything else is a store path, work, or foreign)
BOOKKEEPING = (REGISTRY, VALID, ".flocks", ".gc.flock", ".roots")
REPAIR_HINT = "run envr store repair to re-register the intact store paths"
# sqlite's unix VFS refuses file names over 512 bytes; the registry's journal adds the longest suffix.
MAX_STORE_BYTES = 512 - len(os.sep + REGISTRY + "-journal")

_HEX = frozenset("0123456789abcdef")
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class StoreError(EnvrError):
    """The store cannot do what was asked: one line naming the package or path, the cause, and the way out."""


class RegistryError(StoreError):
    """The store's registry is missing (while store paths exist), unreadable or corrupted."""


def bin_dir(store_path: str) -> str:
    """The directory a store path puts on PATH."""
    return os.path.join(store_path, BIN_DIR)


def valid_marker(store_path: str) -> str:
    return os.path.join(os.path.dirname(store_path), VALID, os.path.basename(store_path))


def looks_valid(store_path: str) -> bool:
    """The prompt's check: one stat. The registry row stays the authority (sync and verify consult it)."""
    return os.path.exists(valid_marker(store_path))


def store_dir(environ: Mapping[str, str] | None = None) -> str:
    """The store directory; raises StoreError for one whose path cannot work (PATH, sqlite)."""
    value = (dirs.setting("ENVR_STORE") if environ is None else environ.get("ENVR_STORE", "")).strip()
    store = os.path.abspath(os.path.expanduser(value)) if value else os.path.join(dirs.data_dir(), "store")
    where = f"ENVR_STORE={value}" if value else f"the store directory {store}"
    if os.pathsep in store:
        raise StoreError(
            f"{where} contains {os.pathsep!r}, which would split PATH and drop its tools; "
            f"choose a store directory without {os.pathsep!r} (set ENVR_STORE)"
        )
    size = len(os.fsencode(store))
    if size > MAX_STORE_BYTES:
        raise StoreError(
            f"{where[:80]}... is {size} bytes long; the store's registry (sqlite) needs a store directory of at "
            f"most {MAX_STORE_BYTES} bytes: set ENVR_STORE to a shorter one"
        )
    return store


def registry_file(store: str) -> str:
    return os.path.join(store, REGISTRY)


def is_store_name(name: str) -> bool:
    """<32 lowercase hex>-<package name>-<version>: the only names envr gives store paths."""
    if len(name) < HASH_CHARS + 4 or name[HASH_CHARS] != "-" or not _HEX.issuperset(name[:HASH_CHARS]):
        return False
    rest = name[HASH_CHARS + 1 :]  # name and version may both hold '-': only the shape is checked
    return rest[0] in _NAME_FIRST and "-" in rest[1:-1] and all(c.isprintable() and not c.isspace() for c in rest)


def is_bookkeeping(name: str) -> bool:
    """The registry (and its journal and temp files), markers, flocks, roots."""
    return name in BOOKKEEPING or name.startswith(REGISTRY)


def work_name_of(name: str) -> str | None:
    """The store path a .tmp-<path>-<pid> or .trash-<path>-<pid> entry belongs to (None: not such an entry)."""
    for prefix in (".tmp-", ".trash-"):
        if name.startswith(prefix):
            path, sep, pid = name[len(prefix) :].rpartition("-")
            if sep and pid.isdigit() and is_store_name(path):
                return path
    return None
