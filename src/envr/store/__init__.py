"""The shared, content-addressed store: where realised packages live, one immutable directory each.

Layout of a store (ENVR_STORE, or <data dir>/store):

    <store>/<hash>-<name>-<version>/   a store path; valid only while the registry has its row
    <store>/.registry.sqlite            the registry (stdlib sqlite3): recipe, size, content hash, references
    <store>/.locks/<store path>.lock    per-path flock taken while realising or removing that path
    <store>/.tmp-*, <store>/.trash-*    work and removal in progress; cleaned under the path's lock

The registry lives inside the store (not beside approvals) because validity belongs to the store it describes:
pointing ENVR_STORE elsewhere must never make a directory there look valid.
This module stays import-light: the prompt hook reaches it through envr.packages.
"""

from __future__ import annotations

import os

from envr import dirs

REGISTRY = ".registry.sqlite"
LOCKS = ".locks"


def store_dir(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = env.get("ENVR_STORE", "").strip()
    if value:
        return os.path.abspath(os.path.expanduser(value))
    return os.path.join(dirs.data_dir(), "store")


def registry_file(store: str) -> str:
    return os.path.join(store, REGISTRY)


def lock_file(store: str, store_path: str) -> str:
    return os.path.join(store, LOCKS, os.path.basename(store_path) + ".lock")
