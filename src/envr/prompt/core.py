"""What the prompt hook asks for, computed: the change to make, the state to carry, and what to watch.

compute() is pure: it reads the environment and a few files and returns an Outcome; it writes nothing, starts
no process and builds nothing. What an outcome asks to have written (stamps, caches, a new generation) is
written by prompt.commit, and missing packages are realised by prompt.autosync, each only where its caller
wants it: the hook does both, `envr status` neither.

This is the lean path: it runs when the shell's builtin check saw a change that the hook could not handle
itself, so it imports nothing it does not need (tests/architecture/test_lean_path.py holds it to that).
"""

from __future__ import annotations

import os

from envr import dirs
from envr.errors import EnvrError
from envr.history import generations, profile
from envr.project.file import FILENAME, Project, dirs_up, find_project_file
from envr.prompt.activate import activation, referenced
from envr.prompt.state import STATE_VAR, State, apply, changes, keep_changed, revert
from envr.prompt.watched import Watched
from envr.trust import approvals as trust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from envr.project.packages import View
    from envr.prompt.bins import Cached
    from envr.prompt.layers import Layer


class Outcome:
    """Everything one run of the core decided."""

    def __init__(self, environ: Mapping[str, str], pwd: str) -> None:
        self.environ = environ
        self.pwd = pwd
        self.target: dict[str, str] = dict(environ)
        self.delta: dict[str, str | None] = {}
        self.base: dict[str, str] = {}  # the environment before any project, profile applied
        self.watched = Watched()
        self.absent: list[str] = []  # envr.toml files between pwd and the project (or /) that must stay absent
        self.root: str | None = None  # the directory of the nearest envr.toml, loaded or not
        self.old: State | None = None
        self.new: State | None = None
        self.kept: list[str] = []
        self.kept_any = False  # a variable the user changed inside any loaded layer
        self.interrupted = False  # Ctrl-C while realising: nothing of the project applied
        self.notes: list[str] = []  # loaded / unloaded / kept: silenced by ENVR_QUIET=1
        self.problem: str | None = None  # blocked, broken or missing: always shown
        self.error: EnvrError | None = None  # the project could not be loaded at all
        self.project: Project | None = None
        self.verdict: trust.Verdict | None = None
        self.digest: str | None = None
        self.lock_content: bytes | None = None
        self.missing: list[str] = []  # packages not realised, by name
        self.missing_paths: list[str] = []
        self.failed: list[str] = []  # why a package's store path could not even be named
        self.store_paths: list[str] = []  # every package's store path (realised or not)
        self.pinned: int | None = None
        self.layers: list[Layer] = []  # the project files of the chain, outermost first
        self.interpolated: set[str] = set()  # names the project's templates read from the environment
        # Asked of prompt.commit (besides each layer's parsed project and package view):
        self.generation: dict[str, Any] | None = None  # record as a generation unless the latest holds it

    @property
    def loaded(self) -> bool:
        return self.new is not None and self.problem is None and self.error is None


def compute(environ: Mapping[str, str], pwd: str) -> Outcome:
    """Revert what is loaded, activate what pwd wants (if allowed and valid), and diff against environ."""
    out = Outcome(environ, pwd)
    out.old = State.decode(environ.get(STATE_VAR))
    base, out.kept = revert(environ, out.old)
    out.kept_any = bool(out.kept)
    dirs.settle(base)  # envr's own settings come from before any project: a project cannot move them
    out.base = base = profile.on_path(base, lambda path: out.watched.expect(path, project=False))
    project_file = find_project_file(pwd)
    out.root = os.path.dirname(project_file) if project_file else None
    out.absent = [os.path.join(d, FILENAME) for d in dirs_up(pwd, out.root)]
    out.target = dict(base)
    if project_file is not None:
        try:
            _load(out, project_file)
        except EnvrError as e:
            out.error, out.problem = e, str(e)
        except OSError as e:
            out.error = EnvrError(f"{project_file}: {e.strerror or e}")
            out.problem = str(out.error)
        if out.error is not None:
            out.target, out.new, out.kept = dict(base), None, revert(environ, out.old)[1]
    out.delta = changes(environ, out.target)
    out.notes = _notes(out.old, out.new, out.kept)
    return out


def _load(out: Outcome, nearest: str) -> None:
    from envr.prompt import layers as chain

    found = out.layers = chain.chain(nearest, out.watched)
    top = found[-1]
    out.project, out.digest, out.lock_content, out.verdict = top.project, top.digest, top.lock, top.verdict
    blocked = next((layer for layer in found[:-1] if not layer.allowed), None)
    if blocked is not None:  # a child is built on its parent: nothing of the chain loads
        assert blocked.verdict is not None
        out.problem = f"{blocked_line(blocked.file, blocked.content, blocked.verdict)} (inherited by {tilde(nearest)})"
        return
    loadable = found if top.allowed else found[:-1]
    pinned = None
    if top.allowed and len(found) == 1 and top.project is not None:
        pinned = _pinned(top.project, top.digest, out.watched)
    for layer in loadable:
        chain.read_dotenv(layer, out.watched)
        layer.ident = chain.identity(layer, f"pin {pinned[0]}" if pinned is not None else "")
    # Keep the loaded layers that are unchanged (same file, same content) as they are: leaving a child for its
    # parent reverts exactly the child's part, with the exactness rules of a revert.
    old = out.old.layers() if out.old is not None else []
    keep = 0
    while keep < min(len(loadable), len(old)) and (old[keep].file, old[keep].digest) == (
        loadable[keep].file,
        loadable[keep].ident,
    ):
        keep += 1
    if keep:
        base, out.kept = revert(out.environ, out.old, keep)
        new: State | None = old[keep - 1]
        old[keep - 1].parents = old[: keep - 1]
    else:
        base, new = dict(out.base), None
    for i, layer in enumerate(loadable):
        project = layer.project
        assert project is not None
        if pinned is not None:
            project, layer.bins = pinned[1], pinned[2]
        else:
            layer.bins = _package_bins(out, layer, project, base)
        if i < keep:
            continue
        scope = dict(base)
        chain.parse_dotenv(layer, scope)
        chain.run_secrets(layer, scope, {})
        act = activation(project, base, layer.bins, layer.dotenv, layer.secrets)
        out.interpolated |= referenced(project) | layer.reads
        base, new = apply(base, act, layer.file, layer.ident, new.layers() if new is not None else [])
    out.problem = _problems(out, found)
    if new is None:
        return
    out.new, out.target = new, base
    if pinned is not None:
        latest = generations.current(generations.project_dir(nearest))[0]
        new.extra["pin"] = [pinned[0], latest]
    out.target[STATE_VAR] = new.encode()
    from envr.project.limits import execve_problem

    too_big = execve_problem(out.environ, out.target)  # values interpolated only now can pass what execve carries
    if too_big is not None:
        raise EnvrError(f"{nearest}: {too_big}")
    keep_changed(out.environ, out.old, new, out.kept, out.target)
    if pinned is None and top.allowed:
        # Also when some packages are missing or failed: the generation is what this environment puts on PATH,
        # and it is the gc root that keeps those store paths alive while the shell uses them.
        out.generation = _generation(loadable, new, out.target)


def _problems(out: Outcome, found: list[Layer]) -> str | None:
    """Everything the prompt must say about this chain, in one line's parts."""
    parts = [p for layer in found for p in layer.problems]
    top = found[-1]
    if not top.allowed and top.verdict is not None:
        parts.append(blocked_line(top.file, top.content, top.verdict))
    parts += out.failed
    if out.missing:
        parts.append(f"missing: {', '.join(out.missing)}; run envr sync")
    return "; ".join(parts) if parts else None


def _generation(loadable: list[Layer], new: State, target: Mapping[str, str]) -> dict[str, Any]:
    """The whole chain as one generation of the nearest project: its packages, PATH dirs and variables."""
    env: dict[str, str | None] = {}
    prepend: list[str] = []
    append: list[str] = []
    bins: list[str] = []
    names: list[str] = []
    for layer in loadable:
        project = layer.project
        assert project is not None
        env.update(project.env)
        prepend[:0] = list(project.prepend)
        append += list(project.append)
        bins[:0] = layer.bins
        names += [n for n in project.packages if n not in names]
    resolved = {name: target.get(name) for state in new.layers() for name, (_, value) in state.vars.items()}
    return generations.generation_content(env, prepend, append, bins, names, resolved)


def blocked_line(project_file: str, content: bytes, verdict: trust.Verdict) -> str:
    """What the prompt says about a file that is not allowed: a syntax or schema error first (the user is
    editing it: file:line:col), else that it needs `envr allow`, with what changed in its packages."""
    if verdict.state == trust.CHANGED:  # being edited: a mistake in it is what the user needs to see
        from envr.errors import ProjectFileError
        from envr.project.load import parse

        try:
            parse(project_file, content)
        except ProjectFileError as e:
            return f"{e}; fix it, then run 'envr allow'"
        except (EnvrError, OSError):
            pass
    line = f"{tilde(project_file)} is {verdict.state}; run 'envr allow' to trust it"
    if verdict.state == trust.CHANGED:  # only a blocked project pays for saying what changed
        from envr.trust.changes import changes_since_approved

        changed = changes_since_approved(project_file)
        if changed:
            line += f" ({changed})"
    return line


def _pinned(project: Project, digest: str, watched: Watched) -> tuple[int, Project, list[str]] | None:
    """(number, project as that generation had it, its PATH dirs) while an older generation is pinned."""
    pin = generations.pin_file(project.file)
    watched.expect(pin)  # `envr rollback`, `switch-generation` and `sync` show at the next prompt
    n = generations.read_pin(project.file, digest)
    if n is None:
        return None
    data = generations.load(generations.project_dir(project.file), n)
    if data is None:
        return None
    from envr.store import looks_valid, valid_marker

    for path in data["packages"].values():
        watched.expect_present(valid_marker(path))
    if not all(looks_valid(p) for p in data["packages"].values()):
        return None
    env, pre, app = data["env"], tuple(data["prepend"]), tuple(data["append"])
    return n, Project(project.root, project.file, project.content, env, pre, app), data["bins"]


def _package_bins(out: Outcome, layer: Layer, project: Project, base: Mapping[str, str]) -> list[str]:
    """PATH dirs of the layer's realised packages; the rest goes to out.missing (their markers are watched, so a
    sync elsewhere shows at the next prompt). From the prompt's cache when nothing it depends on moved."""
    if not project.packages:
        return []
    from envr.prompt import bins as cache
    from envr.store import store_dir, valid_marker

    store = store_dir(out.base)
    view: Cached | View | None = cache.lookup(project, layer.digest, store, out.environ)
    if view is None:
        full = cache.compute(project, layer.digest, store, out.environ, layer.lock)
        layer.view_fill = cache.entry(project, layer.digest, store, full)
        view = full
    layer.store_paths = list(view.paths.values())
    for path in layer.store_paths:
        out.watched.expect_present(valid_marker(path))
    layer.missing = list(view.missing)
    layer.missing_named = {n: view.paths[n] for n in view.missing if n in view.paths}
    layer.missing_paths = list(layer.missing_named.values())
    layer.failed = list(view.failed.values())
    out.missing += layer.missing
    out.missing_paths += layer.missing_paths
    out.failed += layer.failed
    out.store_paths += layer.store_paths
    return view.bins


def status_line(outcome: Outcome, quiet: bool) -> str | None:
    """The one line a prompt shows for this outcome, if any."""
    parts = [] if quiet else list(outcome.notes)
    if outcome.problem is not None:
        parts.append(outcome.problem)
    return "envr: " + "; ".join(parts) if parts else None


def tilde(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def load_summary(new: State) -> str:
    """`(+GREETING +DATA -PAGER PATH +2)` for a loaded line."""
    summary = [("-" if value is None else "+") + name for name, (_, value) in new.vars.items() if name != "ENVR_ROOT"]
    added = len(new.prepend) + len(new.append)
    if added:
        summary.append(f"PATH +{added}")
    return f" ({' '.join(summary)})" if summary else ""


def _notes(old: State | None, new: State | None, kept: list[str]) -> list[str]:
    parts = []
    if old is not None and (new is None or new.root != old.root):
        parts.append(f"unloaded {tilde(old.root)}")
        still = [name for name in kept if new is None or name not in new.vars]
        if still:
            parts.append(f"kept {', '.join(still)} as you changed {'it' if len(still) == 1 else 'them'} inside")
    pin = new.extra.get("pin") if new is not None else None
    if new is not None and (
        old is None or new.root != old.root or new.digest != old.digest or pin != old.extra.get("pin")
    ):
        verb = "reloaded" if old is not None and old.root == new.root else "loaded"
        parts.append(f"{verb} {tilde(new.root)}{load_summary(new)}")
        if isinstance(pin, list) and len(pin) == 2:
            parts.append(f"pinned to older generation {pin[0]} (latest {pin[1]}); envr sync returns to the latest")
    return parts
