"""Substitution: before building a store path, ask the binary caches for it.

Each substituter (settings.py) is asked in order. A hit is fetched with progress, checked (a trusted
signature over exactly its facts, its recipe and name, the layer's digest, the tree's content hash) and
installed exactly as a local build ends (install.py). Anything else, a miss, an unreachable cache, an
untrusted signature, a tampered or truncated layer, is one line and the next substituter, then False: the
caller realises from the origin. Nothing is registered unless everything checked out.

A cache that could not be reached is skipped for a while (settings.RETRY_AFTER), and connecting waits
transport.CONNECT_TIMEOUT seconds at most, so a cache that is down never stalls a prompt.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from envr.errors import EnvrError
from envr.store.cache.facts import recipe_hash

__all__ = ["recipe_hash", "substitute"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.cache.keys import PublicKey

Say = Callable[[str], None]
Progress = Callable[[str, int, int | None], None]  # (package name, bytes done, total), as realise reports


def substitute(
    store: str,
    store_path: str,
    recipe_hash: str,
    environ: Mapping[str, str] | None = None,
    say: Say = lambda _: None,
    progress: Progress | None = None,
) -> bool:
    """Make store_path valid from a binary cache; False (having said why) if no cache could. Call it under the
    path's flock, with leftovers cleaned, where a build would start."""
    from envr.store.cache import settings

    try:
        config = settings.load(os.environ if environ is None else environ)
    except EnvrError as e:
        say(f"{e}; not asking any binary cache")
        return False
    if not config.substituters:
        return False
    for problem in config.problems:
        say(problem)
    for url in config.substituters:
        if settings.failed_recently(url) is not None:
            continue  # it said why when it failed; a prompt must not wait for it again
        if _from(url, store, store_path, recipe_hash, config.trusted, say, progress):
            return True
    return False


def _from(
    url: str,
    store: str,
    store_path: str,
    recipe_hash: str,
    keys: list[PublicKey],
    say: Say,
    progress: Progress | None,
) -> bool:
    from envr.store.cache import settings
    from envr.store.cache.artifact import read_artifact
    from envr.store.cache.install import check, install
    from envr.store.cache.transport import CacheError
    from envr.store.cache.urls import open_backend

    name = os.path.basename(store_path)
    started = time.monotonic()
    backend = None
    try:
        if not keys:
            say(f"{url}: no trusted-public-keys, so nothing from it can be trusted; not substituting {name}")
            return False
        backend = open_backend(url)
        artifact = read_artifact(backend, name)
        if artifact is None:
            say(f"{url}: no {name} there; realising it from its source")
            return False
        total = int(artifact.layer["size"])
        signer = check(artifact.facts, f"{url} {name}", store, keys, recipe_hash)
        done = [0]

        def moved(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(name.split("-", 1)[1], done[0], total)

        install(store, store_path, backend, artifact, moved)
        took = time.monotonic() - started
        signed = f"signed by {signer.name}" if signer is not None else "unsigned"
        say(f"substituted {name} from {url} ({total / 1048576:.1f} MiB, {signed}) in {took:.1f}s")
        settings.clear_failure(url)
        return True
    except CacheError as e:
        if e.unreachable:
            settings.mark_failed(url, str(e))
            say(f"{e}; skipping {url} for {int(settings.RETRY_AFTER)}s, realising {name} from its source")
        else:
            say(f"{e}; realising {name} from its source")
        return False
    except EnvrError as e:  # the safe extractor's refusals, among others
        say(f"{url} {name}: {e}; realising it from its source")
        return False
    except OSError as e:
        say(f"{url} {name}: {e.strerror or e}; realising it from its source")
        return False
    except Exception as e:  # a cache must never break a build that would have worked without it
        if os.environ.get("ENVR_DEBUG") == "1":
            raise
        say(f"{url} {name}: unexpected {type(e).__name__}: {e}; realising it from its source")
        return False
    finally:
        if backend is not None:
            backend.close()
