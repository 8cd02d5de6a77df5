"""`envr export FORMAT`: the entry the prompt hook calls by absolute interpreter path (`python -I`).

compute (pure) -> realise what is missing (prompt.autosync, once per content) -> commit (stamps, caches, a
generation) -> render the change and, for a hook, its state (shells.hookstate). Kept apart from the typer CLI so
a prompt pays for the interpreter and the core, nothing else.
"""

from __future__ import annotations

import os
import sys

from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from envr.prompt.core import Outcome
    from envr.prompt.state import State
    from envr.shells.hookstate import Enter, HookState, Leave

USAGE = "usage: envr export bash|zsh|fish|json|dotenv|github"
HOOKS = ("bash", "zsh", "fish")


def one_line(text: str) -> str:
    """text fit for one terminal line: a newline or an escape sequence in a directory name is shown, not obeyed."""
    return text.translate({c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))})


def run(environ: Mapping[str, str], pwd: str) -> tuple[Outcome, dict[str, str | None]]:
    """The core as the hook runs it: compute, realise what is missing, commit. Returns the outcome and the
    stamps of what it watched."""
    from envr.errors import SyncInterrupted
    from envr.prompt import autosync
    from envr.prompt.commit import commit
    from envr.prompt.core import compute

    outcome = compute(environ, pwd)
    if autosync.wanted(outcome):
        try:
            remembered = autosync.realise(outcome)
        except SyncInterrupted as e:  # the shell stays exactly as it was; the store paths are watched
            outcome.target, outcome.delta, outcome.new = dict(environ), {}, outcome.old
            outcome.notes, outcome.problem, outcome.generation = [], str(e), None
            outcome.watched.racy = False
            outcome.interrupted = True
            return outcome, commit(outcome) or {}
        outcome = compute(environ, pwd)
        if remembered is not None and outcome.problem is not None:
            outcome.problem = f"{outcome.problem}; {remembered}"
    for _ in range(2):  # a store path collected meanwhile (D9): compute once more, it is then missing
        stamps = commit(outcome)
        if stamps is not None:
            return outcome, stamps
        outcome = compute(environ, pwd)
    return outcome, {}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["github"]:  # CI, not the prompt: appends to $GITHUB_ENV and $GITHUB_PATH
        return _github()
    # The hooks pass the line they showed last, so a re-check (a just-written file looked at again) does not
    # repeat "blocked" or "missing" at every prompt.
    hook = bool(args) and args[0] in HOOKS
    if not ((hook and len(args) <= 2) or (len(args) == 1 and args[0] in ("json", "dotenv"))):
        print(USAGE, file=sys.stderr)
        return 2
    said_before = args[1] if len(args) > 1 else None
    try:
        from envr import dirs
        from envr.project.file import logical_cwd
        from envr.prompt.core import status_line

        pwd = logical_cwd()
        outcome, stamps = run(os.environ, pwd)
        quiet = dirs.setting("ENVR_QUIET") not in ("", "0")
        line = status_line(outcome, quiet and hook)
        line = one_line(line) if line else ""
        if hook and len(args) == 2:  # the hook passes the line it showed last; it keeps state, a user does not
            out = render_hook(args[0], outcome, stamps, line)
        elif hook:
            from envr.shells import shell

            out = shell(args[0]).render(outcome.delta)
        else:
            from envr.shells.formats import render_dotenv, render_json

            out = render_json(outcome.delta) if args[0] == "json" else render_dotenv(outcome.delta)
        if line and (outcome.notes or line != said_before):  # a load or unload is always news
            print(line, file=sys.stderr)
        # Values may carry any bytes the user's environment held (surrogate-escaped by Python): give them back.
        sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        if hook and len(args) == 2:
            return 0  # the hook must record what it watched even when the project is blocked or broken
        if outcome.interrupted:
            return 130
        if hook:
            return 0
        if outcome.error is not None:
            return outcome.error.exit_code
        return 3 if outcome.verdict is not None and not outcome.verdict.allowed else 0
    except KeyboardInterrupt:
        return 130
    except EnvrError as e:
        print(one_line(f"envr: {e}"), file=sys.stderr)
        return e.exit_code
    except Exception as e:  # the prompt must survive anything: one line, never a traceback
        if os.environ.get("ENVR_DEBUG") == "1":
            raise
        print(one_line(f"envr: internal error: {type(e).__name__}: {e} (ENVR_DEBUG=1 shows more)"), file=sys.stderr)
        return 70


def render_hook(name: str, outcome: Outcome, stamps: dict[str, str | None], said: str) -> str:
    """The change for the shell, then the hook's state (see shells/hookstate.py)."""
    from envr.prompt.state import STATE_VAR
    from envr.shells import shell
    from envr.shells.hookstate import HookState

    sh = shell(name)
    hs = HookState()
    hs.pwd = outcome.pwd
    hs.racy = outcome.watched.racy
    hs.seen = outcome.target.get(STATE_VAR, "")
    hs.said = said
    hs.root = outcome.root
    hs.absent = outcome.absent
    hs.wbase = [(path, stamps.get(path)) for path, _ in outcome.watched.base]
    hs.wproj = [(path, stamps.get(path)) for path, _ in outcome.watched.project]
    if outcome.new is not None:
        hs.leave = leave_of(outcome.new)
        if hs.leave is not None and not hs.racy and _cacheable(outcome):
            hs.enter = enter_of(outcome, hs)
    return sh.render(outcome.delta) + sh.state(hs)


def leave_of(state: State) -> Leave | None:
    """The revert as data for the hook; None when a value envr set is known only by its digest (then leaving
    runs the core, which compares digests)."""
    from envr.prompt.core import tilde
    from envr.prompt.state import Digest
    from envr.shells.hookstate import Layer, Leave

    if any(isinstance(v[1], Digest) for layer in state.layers() for v in layer.vars.values()):
        return None
    layers = [
        Layer(
            [(n, s, b) for n, (b, s) in layer.vars.items() if not isinstance(s, Digest)],
            list(layer.prepend),
            list(layer.append),
            layer.path_was_unset,
        )
        for layer in reversed(state.layers())
    ]
    return Leave(layers, one_line(tilde(state.root)))


def _cacheable(outcome: Outcome) -> bool:
    """A fresh, complete load: nothing kept from a reload in the same project, nothing missing or wrong."""
    new, old = outcome.new, outcome.old
    fresh = old is None or (new is not None and old.root != new.root)
    return outcome.loaded and fresh and not outcome.kept_any and outcome.project is not None


def enter_of(outcome: Outcome, hs: HookState) -> Enter:
    """This load as the hook can repeat it, and the checks under which that is exactly what the core does."""
    from envr.history.profile import PROFILE_VAR
    from envr.prompt.core import _notes
    from envr.prompt.state import STATE_VAR
    from envr.shells.hookstate import Enter

    new, base = outcome.new, outcome.base
    assert new is not None and outcome.root is not None
    enter = Enter(outcome.root)
    layers = new.layers()
    enter.prepend = [entry for layer in reversed(layers) for entry in layer.prepend]
    enter.append = [entry for layer in layers for entry in layer.append]
    names = sorted({name for layer in layers for name in layer.vars} | outcome.interpolated)
    enter.checks = [("var", name, base.get(name)) for name in names if name != "PATH"]
    if "PATH" in outcome.interpolated:
        enter.checks.append(("var", "PATH", base.get("PATH")))
    elif enter.prepend or enter.append:
        enter.checks.append(("defined", "PATH", "1" if "PATH" in base else None))
    profile = base.get(PROFILE_VAR)
    enter.checks.append(("var", PROFILE_VAR, profile))
    enter.checks.append(("first_path", "PATH", profile))
    enter.checks += [("file", path, stamp) for path, stamp in hs.wproj]
    enter.sets = [(name, outcome.target.get(name)) for name in dict.fromkeys(n for lay in layers for n in lay.vars)]
    enter.sets.append((STATE_VAR, outcome.target.get(STATE_VAR)))
    after = enter.after
    after.seen = outcome.target.get(STATE_VAR, "")
    after.root = outcome.root
    after.wproj = hs.wproj
    after.leave = hs.leave
    notes = _notes(None, new, [])
    after.said = enter.message = one_line("envr: " + "; ".join(notes)) if notes else ""
    return enter


def _github() -> int:
    """`envr export github`: the project's environment for the later steps of a GitHub Actions job."""
    from envr.project.file import logical_cwd
    from envr.shells.github import export_github

    try:
        said = export_github(os.environ, lambda: run(os.environ, logical_cwd())[0])
    except EnvrError as e:
        print(one_line(f"envr: {e}"), file=sys.stderr)
        return e.exit_code
    print(f"envr: {said}", file=sys.stderr)
    return 0


def boot() -> None:
    """Entry used by the hook: python -I -c BOOT LIBDIR FORMAT."""
    sys.exit(main(sys.argv[2:]))
