"""Turning a verified artifact into a store path, exactly as a local build ends.

    trusted signature over the facts -> the facts name this path, from this recipe, fit this store
    -> stream the layer: digest and size checked, decompressed to a plain tar beside the final path
    -> the safe extractor (store.sources._archive.unpack) into a temp dir -> the tree hashes to the facts
    -> make read-only -> rename(2) into place -> register the row (references too)

Call install under the path's flock with leftovers cleaned (as realise does); any failure leaves nothing:
the temp dir goes, and no row is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from envr.errors import EnvrError
from envr.store import registry
from envr.store.cache.artifact import Artifact
from envr.store.cache.backend import Backend, read_verified
from envr.store.cache.facts import Facts, FactsError
from envr.store.cache.keys import PublicKey
from envr.store.cache.layer import Decompressor, compression_of
from envr.store.cache.transport import CacheError
from envr.store.hashing import platform_id, tree_hash
from envr.store.tree import force_remove, make_read_only


def check(facts: Facts, where: str, store: str, keys: list[PublicKey], recipe_hash: str | None) -> PublicKey | None:
    """Raise CacheError unless the facts may become this store's path. keys=[]: no signature needed (a bundle
    the user vouches for); otherwise returns the trusted key that signed them."""
    if recipe_hash is not None and facts.recipe_hash != recipe_hash:
        raise CacheError(f"{where}: built from recipe {facts.recipe_hash}, expected {recipe_hash}")
    if facts.platform != platform_id():
        raise CacheError(f"{where}: built for {facts.platform}, not this {platform_id()}")
    try:
        facts.check_recipe()
    except FactsError as e:
        raise CacheError(f"{where}: {e}") from None
    signer = None
    if keys:
        signer = facts.trusted_by(keys)
        if signer is None:
            by = ", ".join(facts.signers()) or "nobody"
            raise CacheError(f"{where}: signed by {by}, none of them in trusted-public-keys")
    if not facts.relocatable and facts.store_dir != store:
        raise CacheError(f"{where}: holds its own path, so it fits only a store at {facts.store_dir}, not {store}")
    return signer


def fetch_tree(
    backend: Backend, artifact: Artifact, work: str, progress: Callable[[int], None] = lambda _: None
) -> str:
    """Download and unpack the artifact's layer under work (an empty directory); returns the tree's path there,
    its content hash checked against the facts."""
    facts = artifact.facts
    digest = str(artifact.layer["digest"])
    where = f"{backend.url} {facts.name} (layer {digest})"
    compression = compression_of(str(artifact.layer.get("mediaType", "")), where)
    tar_file = os.path.join(work, "layer.tar")
    limit = 4 * facts.size + (256 << 20)  # the tree plus tar's headers and padding, generously
    decompressor = Decompressor(compression, limit, where)
    failed: list[EnvrError] = []  # a bad stream is told as a digest mismatch when it is one (read on to know)
    with open(tar_file, "wb") as out:

        def sink(data: bytes) -> None:
            if not failed:
                try:
                    decompressor.feed(data, out.write)
                except EnvrError as e:
                    failed.append(e)

        read_verified(backend, digest, int(artifact.layer["size"]), sink, progress)
    if failed:
        raise failed[0]
    tree = os.path.join(work, "tree")
    os.mkdir(tree)
    unpack_tar(tar_file, tree, where)
    os.unlink(tar_file)
    inner = _only_path(tree, facts.path, where)
    content_hash, size = tree_hash(inner)
    if content_hash != facts.content_hash or size != facts.size:
        raise CacheError(f"{where}: unpacks to {content_hash} ({size} bytes), expected {facts.content_hash}")
    return inner


def unpack_tar(tar_file: str, dest: str, where: str) -> None:
    """The store's safe extractor, for a plain tar. (Its sources-net rewrite names plain tar "tar"; the
    extractor it replaces sniffs the compression under any tar format name.)"""
    from envr.store.sources import _archive

    fmt = "tar" if "tar" in _archive.FORMATS else "tar.gz"
    _archive.unpack(tar_file, fmt, dest, where)


def _only_path(tree: str, path: str, where: str) -> str:
    """tree/<path without its leading />, refusing a layer that holds anything beside that one path."""
    here = tree
    for part in path.strip("/").split("/"):
        entries = os.listdir(here)
        if entries != [part] or os.path.islink(os.path.join(here, part)):
            raise CacheError(f"{where}: the layer holds {sorted(entries)[:3]} where only {path} was expected")
        here = os.path.join(here, part)
    if not os.path.isdir(here) or os.path.islink(here):
        raise CacheError(f"{where}: the layer's {path} is not a directory")
    return here


def install(
    store: str,
    store_path: str,
    backend: Backend,
    artifact: Artifact,
    progress: Callable[[int], None] = lambda _: None,
) -> None:
    """Make store_path valid from the artifact (already checked). Under store_path's flock."""
    facts = artifact.facts
    references = [os.path.join(store, r) for r in facts.references]
    missing = sorted(set(references) - registry.valid(store, references))
    if missing:
        raise CacheError(f"{backend.url} {facts.name}: needs {os.path.basename(missing[0])}, which is not in {store}")
    ensure = getattr(registry, "ensure", None)  # a registry that insists on existing before paths land (main's)
    if ensure is not None:
        ensure(store)
    work = os.path.join(store, f".tmp-{facts.name}-{os.getpid()}")  # the form gc and realise know as work
    os.mkdir(work)
    try:
        inner = fetch_tree(backend, artifact, work, progress)
        make_read_only(inner)
        os.rename(inner, store_path)
    finally:
        force_remove(work)
    registry.register(store, store_path, facts.recipe, facts.size, facts.content_hash, references)
