"""What the prompt hook asks for: the change to make now, the state to carry, and what to watch.

This is the lean path. It runs only when the shell's builtin check saw a change, and must stay within a few
milliseconds of a bare interpreter start, so it imports nothing it does not need (no typer, no CLI).
"""

from __future__ import annotations

import os
import time

from envr import dirs
from envr.errors import EnvrError, SyncInterrupted
from envr.history import generations, profile
from envr.project.file import FILENAME, LOCKNAME, Project, dirs_up, find_project_file
from envr.project.load import cached
from envr.prompt.activate import activation
from envr.prompt.state import STATE_VAR, State, apply, changes, keep_changed, revert
from envr.trust import approvals as trust

TYPE_CHECKING = False  # collections.abc and typing cost the prompt ~1-2 ms; annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping

# A file modified this recently may be modified again within the same filesystem timestamp tick, which an
# mtime comparison cannot see (git's "racy" entries); such a file is re-checked at the next prompt.
RACY_NS = 100_000_000
COARSE_RACY_NS = 3_000_000_000


class Watch:
    """Files the shell checks with builtins before each prompt; any change brings the core back."""

    def __init__(self) -> None:
        self.absent: list[str] = []  # must stay absent
        self.present: list[tuple[str, str]] = []  # (file, stamp with the same mtime)
        self.racy = False

    def expect_absent(self, path: str) -> None:
        self.absent.append(path)

    def expect(self, path: str) -> None:
        """Watch path for creation, deletion or modification, whichever state it is in now."""
        try:
            st = os.stat(path)
        except OSError:
            self.absent.append(path)
            return
        self.present.append((path, stamp(st.st_mtime_ns)))
        # A whole-second mtime means a filesystem that keeps seconds (ext3, HFS+, FAT's two), where an edit
        # hides for up to a tick: the window grows to match (a 1e-9 chance on ns filesystems, harmless).
        window = COARSE_RACY_NS if st.st_mtime_ns % 1_000_000_000 == 0 else RACY_NS
        if abs(time.time_ns() - st.st_mtime_ns) < window:  # a file stamped in the future is not racy
            self.racy = True


def stamp(mtime_ns: int) -> str:
    """A file whose mtime is exactly mtime_ns, so the shell can test `-nt`/`-ot` against it."""
    path = os.path.join(dirs.cache_dir(), "stamps", str(mtime_ns))
    try:
        if os.stat(path).st_mtime_ns == mtime_ns:
            return path
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


class Outcome:
    """Everything one run of the core decided. (Plain classes here: dataclasses cost the prompt ~6 ms.)"""

    def __init__(
        self,
        target: dict[str, str],
        delta: dict[str, str | None],
        watch: Watch,
        notes: list[str],
        problem: str | None,
        error: EnvrError | None,
        project: Project | None,
        verdict: trust.Verdict | None,
    ) -> None:
        self.target = target
        self.delta = delta
        self.watch = watch
        self.notes = notes  # loaded / unloaded / kept: silenced by ENVR_QUIET=1
        self.problem = problem  # blocked or broken: always shown
        self.error = error
        self.project = project
        self.verdict = verdict


def _tilde(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def compute(environ: Mapping[str, str], pwd: str) -> Outcome:
    """Revert what is loaded, activate what pwd wants (if allowed and valid), and diff against environ."""
    old = State.decode(environ.get(STATE_VAR))
    base, kept = revert(environ, old)
    watch = Watch()
    base = profile.on_path(base, watch.expect)
    project_file = find_project_file(pwd)
    root = os.path.dirname(project_file) if project_file else None
    for d in dirs_up(pwd, root):
        watch.expect_absent(os.path.join(d, FILENAME))

    target: dict[str, str] = dict(base)
    new: State | None = None
    problem: str | None = None
    error: EnvrError | None = None
    project: Project | None = None
    verdict: trust.Verdict | None = None
    if project_file is not None:
        watch.expect(project_file)
        watch.expect(os.path.join(os.path.dirname(project_file), LOCKNAME))
        try:
            with open(project_file, "rb") as f:
                content = f.read()
            digest = trust.content_hash(project_file, content)
            verdict = trust.check(project_file, digest)
            watch.expect(verdict.approval_file)
            if not verdict.allowed:
                problem = f"{_tilde(project_file)} is {verdict.state}; run 'envr allow' to trust it"
                if verdict.state == trust.CHANGED:  # only a blocked project pays for saying what changed
                    from envr.trust.changes import changes_since_approved

                    changed = changes_since_approved(project_file)
                    if changed:
                        problem += f" ({changed})"
            else:
                project = cached(project_file, content, digest)
                pinned = _pinned(project, digest, watch)
                if pinned is not None:
                    project, bins, missing = pinned[1], pinned[2], list[str]()
                else:
                    bins, missing = _package_bins(project, environ, watch)
                act = activation(project, base, bins)
                target, new = apply(base, act, project_file, digest)
                if pinned is not None:
                    new.extra["pin"] = [pinned[0], generations.current(generations.project_dir(project_file))[0]]
                    target[STATE_VAR] = new.encode()
                keep_changed(environ, old, new, kept, target)
                if missing:
                    problem = f"missing: {', '.join(missing)}; run envr sync"
                elif pinned is None:
                    _record(project, bins, act.vars)
        except EnvrError as e:
            error = e
            problem = str(e)
            if isinstance(e, SyncInterrupted):  # Ctrl-C during auto-sync: the shell stays exactly as it was
                error, target, new = None, dict(environ), old
                for path in e.paths:
                    watch.expect_absent(path)
        except OSError as e:
            error = EnvrError(f"{project_file}: {e.strerror}")
            problem = str(error)

    delta = changes(environ, target)
    return Outcome(target, delta, watch, _notes(old, new, kept), problem, error, project, verdict)


def _pinned(project: Project, digest: str, watch: Watch) -> tuple[int, Project, list[str]] | None:
    """(number, project as that generation had it, its PATH dirs) while an older generation is pinned."""
    pin = generations.pin_file(project.file)
    watch.expect(pin)  # `envr rollback`, `switch-generation` and `sync` show at the next prompt
    n = generations.read_pin(project.file, digest)
    if n is None:
        return None
    data = generations.load(generations.project_dir(project.file), n)
    if data is None:
        return None
    from envr.store import looks_valid

    if not all(looks_valid(p) for p in data["packages"].values()):
        return None
    env, pre, app = data["env"], tuple(data["prepend"]), tuple(data["append"])
    return n, Project(project.root, project.file, project.content, env, pre, app), data["bins"]


def _record(project: Project, bins: list[str], resolved: dict[str, str | None]) -> None:
    """A new generation if this environment differs from the project's latest (nothing is written otherwise)."""
    content = generations.generation_content(
        project.env, project.prepend, project.append, bins, list(project.packages), resolved
    )
    try:  # noqa: SIM105 (contextlib is not on the prompt's path)
        generations.record(project.file, content)
    except OSError:
        pass  # a read-only data dir must not break the prompt; the environment still loads


def _package_bins(project: Project, environ: Mapping[str, str], watch: Watch) -> tuple[list[str], list[str]]:
    """PATH dirs of the realised packages, and the names of missing ones (watched, to load once synced)."""
    if not project.packages:
        return [], []
    from envr.project.packages import package_bins

    bins, missing, missing_paths = package_bins(project, environ)
    for path in missing_paths:
        watch.expect_absent(path)
    return bins, missing


def status_line(outcome: Outcome, quiet: bool) -> str | None:
    """The one line a prompt shows for this outcome, if any."""
    parts = [] if quiet else list(outcome.notes)
    if outcome.problem is not None:
        parts.append(outcome.problem)
    return "envr: " + "; ".join(parts) if parts else None


def _notes(old: State | None, new: State | None, kept: list[str]) -> list[str]:
    parts = []
    if old is not None and (new is None or new.root != old.root):
        parts.append(f"unloaded {_tilde(old.root)}")
        still = [name for name in kept if new is None or name not in new.vars]
        if still:
            parts.append(f"kept {', '.join(still)} as you changed {'it' if len(still) == 1 else 'them'} inside")
    pin = new.extra.get("pin") if new is not None else None
    if new is not None and (
        old is None or new.root != old.root or new.digest != old.digest or pin != old.extra.get("pin")
    ):
        verb = "reloaded" if old is not None and old.root == new.root else "loaded"
        summary = []
        for name, (_, value) in new.vars.items():
            if name != "ENVR_ROOT":
                summary.append(("-" if value is None else "+") + name)
        added = len(new.prepend) + len(new.append)
        if added:
            summary.append(f"PATH +{added}")
        parts.append(f"{verb} {_tilde(new.root)}" + (f" ({' '.join(summary)})" if summary else ""))
        if isinstance(pin, list) and len(pin) == 2:
            parts.append(f"pinned to older generation {pin[0]} (latest {pin[1]}); envr sync returns to the latest")
    return parts
