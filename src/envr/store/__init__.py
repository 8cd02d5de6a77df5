"""The shared, content-addressed store: where realised packages live, one immutable directory each.

Layout of a store (ENVR_STORE, or <data dir>/store):

    <store>/<hash>-<name>-<version>/   a store path; valid only while the registry has its row
    <store>/.registry.sqlite            the registry (stdlib sqlite3): recipe, size, content hash, references
    <store>/.valid/<store path>         an empty file per registered path, created after its row and removed
                                        before it: the prompt's cheap check is one stat, no sqlite import
    <store>/.flocks/<store path>.flock  per-path flock taken while realising or removing that path
    <store>/.gc.flock                   held shared by realise and sync, exclusively by gc (store/flocks.py)
    <store>/.tmp-*, <store>/.trash-*    work and removal in progress; cleaned under the path's lock

The registry lives inside the store (not beside approvals) because validity belongs to the store it describes:
pointing ENVR_STORE elsewhere must never make a directory there look valid.
This module stays import-light: the prompt hook reaches it through envr.packages.
"""

from __future__ import annotations

import os

from envr import dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

REGISTRY = ".registry.sqlite"
VALID = ".valid"
BIN_DIR = os.path.join(".envr", "bin")


def bin_dir(store_path: str) -> str:
    """The directory a store path puts on PATH."""
    return os.path.join(store_path, BIN_DIR)


def valid_marker(store_path: str) -> str:
    return os.path.join(os.path.dirname(store_path), VALID, os.path.basename(store_path))


def looks_valid(store_path: str) -> bool:
    """The prompt's check: one stat. The registry row stays the authority (sync and verify consult it)."""
    return os.path.exists(valid_marker(store_path))


def store_dir(environ: Mapping[str, str] | None = None) -> str:
    value = (dirs.setting("ENVR_STORE") if environ is None else environ.get("ENVR_STORE", "")).strip()
    if value:
        return os.path.abspath(os.path.expanduser(value))
    return os.path.join(dirs.data_dir(), "store")


def registry_file(store: str) -> str:
    return os.path.join(store, REGISTRY)
