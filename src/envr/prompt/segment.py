"""`envr prompt`: a prompt segment naming the active project and `envr shell -p` packages.

It reads two environment variables and nothing else (no envr.toml, no store, no approvals): ENVR_STATE, which
the hook keeps while a project is loaded (its root is the project directory), and ENVR_SHELL_PACKAGES, which
`envr shell -p` sets (space-separated; nested shells append).

    envr:proj[+cowsay]      the default, inside proj in a `shell -p pypi:cowsay` shell
    envr:proj               a project, no throwaway packages
    envr[+cowsay]           throwaway packages outside any project
                            (nothing at all when neither is active)

--format takes {project} (the directory's name), {root} (its path, ~ for $HOME) and {packages} (comma-
separated); a placeholder with nothing to show is empty, and nothing is printed when nothing is active.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.prompt.state import STATE_VAR, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

PACKAGES_VAR = "ENVR_SHELL_PACKAGES"  # envr.services.shell.MARKER (a layer above; named here, not imported)
FIELDS = ("project", "root", "packages")


def fields(environ: Mapping[str, str]) -> dict[str, str]:
    """project, root and packages as the segment shows them; all empty when nothing is active."""
    state = State.decode(environ.get(STATE_VAR))
    root = state.root if state is not None else ""
    home = environ.get("HOME", "").rstrip("/")
    shown = "~" + root[len(home) :] if home and (root == home or root.startswith(home + "/")) else root
    packages = ",".join(environ.get(PACKAGES_VAR, "").split())
    return {"project": os.path.basename(root.rstrip("/")) if root else "", "root": shown, "packages": packages}


def segment(environ: Mapping[str, str], fmt: str | None = None) -> str:
    """The segment for this environment; "" when no project and no throwaway packages are active. A format
    is checked either way, so a mistake in it shows when the prompt is set up, not first inside a project."""
    from envr.prompt.entry import one_line  # a directory name's newline or escape sequence is shown, not obeyed

    values = {k: one_line(v) for k, v in fields(environ).items()}
    text = None if fmt is None else _formatted(fmt, values)
    if not values["root"] and not values["packages"]:
        return ""
    if text is not None:
        return one_line(text)
    text = "envr" + (":" + values["project"] if values["project"] else "")
    return text + (f"[+{values['packages']}]" if values["packages"] else "")


def _formatted(fmt: str, values: dict[str, str]) -> str:
    try:
        return fmt.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        known = ", ".join("{" + f + "}" for f in FIELDS)
        why = f"{type(e).__name__}: {e}"
        raise EnvrError(f"--format {fmt!r}: {why} (placeholders: {known}; {{{{ is a literal {{)") from None


def main(argv: list[str]) -> int | None:
    """`envr prompt [--format TEXT]` without the typer CLI (~10 ms instead of ~100 ms), for the console entry
    to call first as it does for `envr export`; None for anything else (--help): the CLI handles it."""
    import sys

    if not argv:
        fmt = None
    elif len(argv) == 2 and argv[0] == "--format":
        fmt = argv[1]
    elif len(argv) == 1 and argv[0].startswith("--format="):
        fmt = argv[0].partition("=")[2]
    else:
        return None
    try:
        text = segment(os.environ, fmt)
    except EnvrError as e:
        sys.stderr.write(f"envr: {e}\n")
        return 1
    if text:
        sys.stdout.write(text + "\n")
    return 0
