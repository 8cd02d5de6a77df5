"""Writing what a computed outcome asks for: the explicit step after prompt.core.compute (the hook's entry
and `envr sync` take it; `envr status` never does).

- the parse and package-view caches, so the next enter is cheap;
- a new generation when the environment differs from the project's latest (a gc root for its store paths);
- the stamps the hook tests watched files against.

gc must never delete a store path a prompt is entering (security finding D9): the generation that roots the
paths is recorded first, then the paths' valid markers are checked again while holding the store's flock
shared, which gc holds exclusively from reading the roots to its last deletion. A path gc deleted in between
makes commit return False and the caller compute again (the path is then simply missing).
"""

from __future__ import annotations

import os

from envr.prompt.watched import PRESENT, PRESENT_STAMP, stamp_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.prompt.core import Outcome


def commit(outcome: Outcome) -> dict[str, str | None] | None:
    """Write what outcome asks for; returns each watched file's stamp (None: the file is absent), or None
    when a store path the outcome uses vanished meanwhile (compute again)."""
    from envr.fsutil import memo_save

    for layer in outcome.layers:
        if layer.parsed and layer.project is not None:
            from envr.project.load import remember

            remember(layer.project, layer.digest)
        if layer.view_fill is not None:
            from envr.prompt.bins import MEMO

            memo_save(MEMO, *layer.view_fill)
    if outcome.generation is not None and outcome.project is not None:
        from envr.history import generations

        try:  # noqa: SIM105 (contextlib is not on the prompt's path)
            generations.record(outcome.project.file, outcome.generation)
        except OSError:
            pass  # a read-only data dir must not break the prompt; the environment still loads
        if not _still_valid(outcome):
            return None
    return stamps(outcome)


def _still_valid(outcome: Outcome) -> bool:
    """Whether the store paths the outcome puts on PATH are still valid, judged under the store flock (gc holds
    it exclusively while it collects: waiting for it is rare and short, and exact)."""
    from envr.store import store_dir
    from envr.store.flocks import valid_under_flock

    paths = [p for p in outcome.store_paths if p not in outcome.missing_paths]
    if not paths:
        return True
    try:
        valid = valid_under_flock(store_dir(outcome.base), paths, blocking=True)
    except OSError:  # a store we cannot even open read-only: trust the markers as the compute saw them
        return True
    return valid is not None and len(valid) == len(paths)


def stamps(outcome: Outcome) -> dict[str, str | None]:
    """A stamp per watched file that exists (made if missing); a file stamped while it was racy, or one whose
    stamp cannot be made (a read-only cache), sets outcome.watched.racy: the core then looks again."""
    out: dict[str, str | None] = {}
    for path, mtime in outcome.watched.files():
        if mtime is None or mtime == PRESENT:
            out[path] = None if mtime is None else PRESENT_STAMP
            continue
        try:
            out[path] = make_stamp(mtime)
        except OSError:
            outcome.watched.racy = True
            out[path] = None
    return out


def make_stamp(mtime_ns: int) -> str:
    """A file whose mtime is exactly mtime_ns, so the shell can test `-nt`/`-ot` against it."""
    path = stamp_path(mtime_ns)
    try:
        if os.stat(path).st_mtime_ns == mtime_ns:
            return path
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path
