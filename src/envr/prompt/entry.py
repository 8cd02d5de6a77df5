"""`envr export FORMAT`, the entry the prompt hook calls by absolute interpreter path.

Kept apart from the typer CLI so a prompt pays for the interpreter, tomllib and json, and nothing else.
"""

from __future__ import annotations

import os
import sys

from envr.errors import EnvrError

USAGE = "usage: envr export bash|zsh|fish|json|dotenv|github"


def _hook_output(shell: str, outcome: object, said: str) -> str:
    from envr.prompt.core import Outcome
    from envr.shells import render_changes, renderer

    assert isinstance(outcome, Outcome)
    r = renderer(shell)
    text = render_changes(shell, outcome.delta)
    pwd = "" if outcome.watch.racy else os.environ.get("PWD", "")
    lines = [
        r.assign("_envr_pwd", pwd),
        r.assign("_envr_seen", outcome.target.get("ENVR_STATE", "")),
        r.assign("_envr_said", said),
    ]
    if shell == "fish":
        lines.append(r.assign_list("_envr_test", fish_test_args(outcome.watch.absent, outcome.watch.present)))
    else:
        lines.append(r.assign_list("_envr_absent", outcome.watch.absent))
        lines.append(r.assign_list("_envr_present", [x for pair in outcome.watch.present for x in pair]))
    return text + "".join(line + "\n" for line in lines)


def fish_test_args(absent: list[str], present: list[tuple[str, str]]) -> list[str]:
    """Arguments for one `test $_envr_test` that is true while nothing watched has moved.

    fish spends ~10 µs per builtin call, so the whole check is a single call of its `test`, which takes the
    list as plain arguments: data, never parsed as shell code. Every path is absolute, so none can be
    mistaken for an operator.
    """
    terms: list[list[str]] = [["!", "-e", path] for path in absent]
    for file, stamp in present:
        terms.append(["-e", file, "-a", "-e", stamp, "-a", "!", file, "-nt", stamp, "-a", "!", file, "-ot", stamp])
    args: list[str] = []
    for term in terms:
        args += (["-a"] if args else []) + term
    return args or ["-n", "unchanged"]


def one_line(text: str) -> str:
    """text fit for one terminal line: a newline or an escape sequence in a directory name is shown, not obeyed."""
    return text.translate({c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["github"]:  # CI, not the prompt: appends to $GITHUB_ENV and $GITHUB_PATH
        return _github()
    # The hooks pass the line they showed last, so a re-check (a cd into a subdirectory, a just-written file
    # looked at again) does not repeat "blocked" or "missing" at every prompt.
    hook = bool(args) and args[0] in ("bash", "zsh", "fish")
    export_format = len(args) == 1 and args[0] in ("json", "dotenv")
    if not ((hook and len(args) <= 2) or export_format):
        print(USAGE, file=sys.stderr)
        return 2
    fmt = args[0]
    said_before = args[1] if len(args) > 1 else None
    try:
        from envr.project.file import logical_cwd
        from envr.prompt.core import compute, status_line

        outcome = compute(os.environ, logical_cwd())
        quiet = os.environ.get("ENVR_QUIET", "") not in ("", "0")
        line = status_line(outcome, quiet and hook)
        line = one_line(line) if line else ""
        if hook:
            out = _hook_output(fmt, outcome, line)
        else:
            from envr.shells.formats import render_dotenv, render_json

            out = render_json(outcome.delta) if fmt == "json" else render_dotenv(outcome.delta)
        if line and (outcome.notes or line != said_before):  # a load or unload is always news
            print(line, file=sys.stderr)
        # Values may carry any bytes the user's environment held (surrogate-escaped by Python): give them back.
        sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        if hook:
            return 0  # the hook must record what it watched even when the project is blocked or broken
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


def _github() -> int:
    from envr.project.file import logical_cwd
    from envr.prompt.core import compute
    from envr.shells.github import export_github

    try:
        said = export_github(os.environ, lambda: compute(os.environ, logical_cwd()))
    except EnvrError as e:
        print(one_line(f"envr: {e}"), file=sys.stderr)
        return e.exit_code
    print(f"envr: {said}", file=sys.stderr)
    return 0


def boot() -> None:
    """Entry used by the hook: python -I -c BOOT LIBDIR FORMAT."""
    sys.exit(main(sys.argv[2:]))
