"""Realising what a prompt found missing, once per content: the explicit step after prompt.core.compute.

Entering a project whose packages are not realised realises them now (progress on stderr), unless
ENVR_AUTO_SYNC=0. A failure is said once and remembered (project.attempts): the rest of the project loads, and
later prompts do not start the same build again until the content changes, `envr allow` or `envr sync`.
Ctrl-C leaves the shell exactly as it was, and is remembered the same way (fish cancels the whole prompt handler
on Ctrl-C, so its next prompt runs the core again, which must then leave the shell alone).
"""

from __future__ import annotations

import time

from envr import dirs
from envr.errors import EnvrError, SyncInterrupted
from envr.project import attempts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.prompt.core import Outcome


def wanted(outcome: Outcome) -> bool:
    return bool(outcome.missing) and dirs.setting("ENVR_AUTO_SYNC") != "0"


def realise(outcome: Outcome) -> str | None:
    """Realise outcome's missing packages, layer by layer. Returns the line to show instead of trying when the
    last attempt at exactly this content failed; raises SyncInterrupted on Ctrl-C (now or remembered)."""
    from envr.progress import Reporter
    from envr.project.packages import sync

    remembered: list[str] = []
    reporter: Reporter | None = None
    for layer in outcome.layers:
        project, digest = layer.project, layer.digest
        if project is None or not layer.missing:
            continue
        # Remembered against all of the layer's store paths, which do not change as some get realised.
        paths = sorted(layer.store_paths)
        before = attempts.recall(project.file, digest, paths)
        if before == attempts.INTERRUPTED:
            raise SyncInterrupted(outcome.missing, sorted(outcome.missing_paths))
        if before is not None:
            remembered.append(f"{before} (not retried: envr sync retries)")
            continue
        reporter = reporter or Reporter()
        started = time.monotonic()
        try:
            only, lock = list(layer.missing), layer.lock
            _, built = sync(project, outcome.environ, reporter.say, only, reporter.transfer, lock)
        except KeyboardInterrupt:
            attempts.remember(project.file, digest, paths, attempts.INTERRUPTED)
            reporter.say("interrupted")
            raise SyncInterrupted(_unrealised(outcome), sorted(outcome.missing_paths)) from None
        except EnvrError as e:  # load what is there; the status line names what is missing
            reporter.say(str(e))
            attempts.remember(project.file, digest, paths, str(e).splitlines()[0])
            continue
        if built:  # only what this call realised: a package whose index could not be read is not among them
            reporter.say(f"synced {', '.join(built)} in {time.monotonic() - started:.1f}s")
        else:  # another process (envr watch, a sync in another shell) finished them while we waited
            reporter.say(f"{', '.join(layer.missing)} realised meanwhile by another envr (envr watch?); nothing to do")
    return "; ".join(remembered) if remembered else None


def _unrealised(outcome: Outcome) -> list[str]:
    """The missing packages whose store paths are still not valid (Ctrl-C can land after some finished)."""
    from envr.store import looks_valid

    names: list[str] = []
    for layer in outcome.layers:
        names += [n for n in layer.missing if n not in layer.missing_named or not looks_valid(layer.missing_named[n])]
    return names or list(outcome.missing)
