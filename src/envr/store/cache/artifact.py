"""A store path as an OCI artifact: an image manifest whose config is the signed facts and whose one layer is
the path's tree (layer.py), tagged with the store path's name.

    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "artifactType": "application/vnd.envr.store-path.v1",
     "config": {"mediaType": "application/vnd.envr.store-path.facts.v1+json", "digest": ..., "size": ...},
     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": ..., "size": ...}],
     "annotations": {"dev.envr.store-path": "<32 hex>-hello-2.12"}}

Tag: the store path's name, with any character a tag may not hold (`+`) written `_` (a tag collision is a
miss, never a wrong path: the facts name the path exactly and are checked).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envr.store.cache.backend import OCI_MANIFEST, Backend, Manifest, read_small
from envr.store.cache.facts import FACTS_TYPE, Facts, FactsError, recipe_hash
from envr.store.cache.keys import SecretKey
from envr.store.cache.layer import Layer, write_layer
from envr.store.cache.transport import CacheError
from envr.store.hashing import platform_id, tree_hash

ARTIFACT_TYPE = "application/vnd.envr.store-path.v1"
PATH_ANNOTATION = "dev.envr.store-path"
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class Unshareable(CacheError):
    """A store path that cannot travel as an artifact."""


def tag_for(name: str) -> str:
    tag = "".join(c if c in _TAG_CHARS else "_" for c in name)[:128]
    return tag if tag[0] not in ".-" else f"_{tag[1:]}"


@dataclass(frozen=True)
class Artifact:
    facts: Facts
    layer: dict[str, Any]  # the layer's descriptor: mediaType, digest, size
    manifest: Manifest


def descriptor(media_type: str, digest: str, size: int, **annotations: str) -> dict[str, Any]:
    d: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        d["annotations"] = dict(annotations)
    return d


def manifest_for(facts_blob: bytes, facts: Facts, layer: dict[str, Any]) -> Manifest:
    from envr.store.cache.backend import digest_of

    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": descriptor(FACTS_TYPE, digest_of(facts_blob), len(facts_blob)),
        "layers": [layer],
        "annotations": {PATH_ANNOTATION: facts.name},
    }
    return Manifest(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), OCI_MANIFEST)


def parse_manifest(backend: Backend, manifest: Manifest, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config descriptor, layer descriptor) of a store path artifact."""
    try:
        doc = json.loads(manifest.data)
        config = doc["config"]
        layers = doc["layers"]
    except (ValueError, KeyError, TypeError):
        raise CacheError(f"{where}: manifest {manifest.digest} is not an OCI image manifest") from None
    if not isinstance(config, dict) or config.get("mediaType") != FACTS_TYPE:
        raise CacheError(f"{where}: manifest {manifest.digest} is not an envr store path (config {FACTS_TYPE})")
    if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
        raise CacheError(f"{where}: manifest {manifest.digest} should have exactly one layer")
    for d in (config, layers[0]):
        if not isinstance(d.get("digest"), str) or not isinstance(d.get("size"), int) or d["size"] < 0:
            raise CacheError(f"{where}: manifest {manifest.digest} has a descriptor without digest and size")
    return config, layers[0]


def read_artifact(backend: Backend, name: str | None, tag: str | None = None) -> Artifact | None:
    """The artifact the cache holds for store path name (or under tag, whatever its name), or None (a miss)."""
    tag = tag or tag_for(name or "")
    where = f"{backend.url} {name or tag}"
    manifest = backend.manifest(tag)
    if manifest is None:
        return None
    config, layer = parse_manifest(backend, manifest, where)
    blob = read_small(backend, config["digest"], config["size"], "facts")
    try:
        facts = Facts.from_json(blob, f"{backend.url} {config['digest']}")
    except FactsError as e:
        raise CacheError(str(e)) from None
    if name is not None and facts.name != name:
        return None  # another path whose tag reads the same
    return Artifact(facts, layer, manifest)


def facts_for(path: str, recipe: Any, size: int, content_hash: str, references: list[str], mentions: bool) -> Facts:
    return Facts(
        path=path,
        content_hash=content_hash,
        size=size,
        references=tuple(sorted(os.path.basename(r) for r in references)),
        recipe_hash=recipe_hash(recipe),
        relocatable=not mentions,
        recipe=recipe,
        platform=platform_id(),
    )


def pack(
    path: str,
    recipe: Any,
    registered_hash: str,
    references: list[str],
    work_dir: str,
    compression: str,
) -> tuple[Facts, Layer]:
    """Check path against its registry hash, write its layer into work_dir, and state its (unsigned) facts."""
    content_hash, size = tree_hash(path)
    if content_hash != registered_hash:
        raise CacheError(f"{path}: its tree hashes to {content_hash}, not {registered_hash}; run envr store verify")
    layer = write_layer(path, os.path.join(work_dir, os.path.basename(path) + ".layer"), compression)
    if layer.absolute_link is not None:
        os.unlink(layer.file)
        raise Unshareable(
            f"it holds a symlink to an absolute path ({layer.absolute_link}), which no safe extractor creates"
            " (a pypi venv links its interpreter so, until the interpreter is in the store too)"
        )
    return facts_for(path, recipe, size, content_hash, references, layer.mentions_self), layer


def push(
    backend: Backend,
    path: str,
    recipe: Any,
    registered_hash: str,
    references: list[str],
    key: SecretKey,
    work_dir: str,
    compression: str,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Upload what the cache lacks of path's artifact, signed by key. Returns what happened, for one line."""
    name = os.path.basename(path)
    try:
        existing = read_artifact(backend, name)
    except CacheError as e:
        if e.unreachable:
            raise
        existing = None  # unreadable: replace it
    if existing is not None:
        theirs = existing.facts
        if (theirs.content_hash, theirs.recipe_hash) != (registered_hash, recipe_hash(recipe)):
            return f"kept: the cache holds another build of it (content {theirs.content_hash})"
        if key.public().verifies_any(theirs.signatures, theirs.fingerprint()):
            return "present"
        facts = theirs.signed(key)  # the same tree: add this key's signature, keep the layer as it is
        layer_desc = existing.layer
        status = "signed"
    else:
        unsigned, layer = pack(path, recipe, registered_hash, references, work_dir, compression)
        facts = unsigned.signed(key)
        layer_desc = descriptor(layer.media_type, layer.digest, layer.size)
        status = "pushed (layer already there)"
        if not backend.has_blob(layer.digest):
            with open(layer.file, "rb") as f:
                backend.put_blob(layer.digest, layer.size, f, progress)
            status = "pushed"
        os.unlink(layer.file)
    blob = facts.to_json()
    manifest = manifest_for(blob, facts, layer_desc)
    config_digest = json.loads(manifest.data)["config"]["digest"]
    if not backend.has_blob(config_digest):
        backend.put_blob(config_digest, len(blob), io.BytesIO(blob), None)
    backend.put_manifest(tag_for(name), manifest)
    return status
