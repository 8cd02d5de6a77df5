"""`envr cache push | ls | verify`: filling a binary cache and looking into one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from envr import dirs
from envr.errors import EnvrError
from envr.store.cache.artifact import Artifact, Unshareable, read_artifact
from envr.store.cache.artifact import push as push_artifact
from envr.store.cache.facts import FactsError
from envr.store.cache.install import fetch_tree
from envr.store.cache.keys import PublicKey, SecretKey
from envr.store.cache.layer import CACHE_COMPRESSION
from envr.store.cache.transport import CacheError
from envr.store.cache.urls import open_backend
from envr.store.registry import Entry
from envr.store.tree import force_remove

Say = Callable[[str], None]


def work_dir() -> str:
    """Where layers are written before upload: the cache dir (a big file does not belong in a tmpfs /tmp)."""
    path = os.path.join(dirs.cache_dir(), "tmp")
    os.makedirs(path, exist_ok=True)
    return path


def push(
    url: str,
    entries: list[Entry],
    key: SecretKey,
    say: Say,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> dict[str, int]:
    """Push entries (references first), signed; returns how many ended up in each state."""
    backend = open_backend(url, create=True)
    counts: dict[str, int] = {}
    try:
        if not backend.writable:
            raise CacheError(f"{url}: read-only; push to oci://HOST/REPOSITORY or file:///DIR")
        with tempfile.TemporaryDirectory(dir=work_dir()) as work:
            for entry in entries:
                name = os.path.basename(entry.path)
                sent = [0]

                def moved(n: int, name: str = name, sent: list[int] = sent) -> None:
                    sent[0] += n
                    if progress is not None:
                        progress(name, sent[0], None)

                try:
                    status = push_artifact(
                        backend, entry.path, entry.recipe, entry.hash, list(entry.references), key, work,
                        CACHE_COMPRESSION, moved,
                    )  # fmt: skip
                except Unshareable as e:
                    status = f"skipped: {e}"
                word = status.split(" ")[0].rstrip(":")
                counts[word] = counts.get(word, 0) + 1
                say(f"{name}: {status}")
    finally:
        backend.close()
    return counts


@dataclass(frozen=True)
class Listed:
    tag: str
    artifact: Artifact | None
    problem: str | None


def listing(url: str) -> list[Listed]:
    backend = open_backend(url)
    try:
        out = []
        for tag in sorted(backend.tags()):
            try:
                art = read_artifact(backend, None, tag)
                out.append(Listed(tag, art, None if art else "no manifest"))
            except (CacheError, FactsError) as e:
                out.append(Listed(tag, None, str(e)))
        return out
    finally:
        backend.close()


def verify(url: str, keys: list[PublicKey], say: Say) -> tuple[int, int]:
    """Check every artifact whole: trusted signature, recipe, layer digest, content hash. (checked, bad)."""
    backend = open_backend(url)
    checked = bad = 0
    try:
        for tag in sorted(backend.tags()):
            checked += 1
            try:
                art = read_artifact(backend, None, tag)
                if art is None:
                    raise CacheError(f"{url}: tag {tag} names no manifest")
                art.facts.check_recipe()
                signer = art.facts.trusted_by(keys)
                if signer is None:
                    by = ", ".join(art.facts.signers()) or "nobody"
                    raise CacheError(f"{url} {art.facts.name}: signed by {by}, none of them in trusted-public-keys")
                work = tempfile.mkdtemp(dir=work_dir())
                try:
                    fetch_tree(backend, art, work)
                finally:
                    force_remove(work)
                say(f"{art.facts.name}: ok (signed by {signer.name}, {art.facts.content_hash})")
            except (CacheError, FactsError) as e:
                bad += 1
                say(f"BAD {e}")
            except EnvrError as e:  # the safe extractor's refusals: still one line per artifact
                bad += 1
                say(f"BAD {url} {tag}: {e}")
    finally:
        backend.close()
    return checked, bad
