"""The typer CLI: one module per command group, registered in the order `envr --help` lists them."""

from __future__ import annotations

import os
import sys

from envr.cli import activation, history, packages, services, store  # noqa: F401  (each registers its commands)

# isort: off
from envr.cli import editing  # noqa: F401  envr edit
from envr.cli import prompt_segment  # noqa: F401  envr prompt
from envr.cli import completion  # noqa: F401  envr completion, and the completers
from envr.cli import tools  # noqa: F401  envr ls, envr outdated
from envr.cli import distribute  # noqa: F401  envr cache, bundle, image
from envr.cli import importing  # noqa: F401  envr import

# isort: on
from envr.cli.app import app, say
from envr.errors import EnvrError


def run() -> None:
    """typer reports usage errors itself; envr's own errors become one line and an exit code."""
    try:
        app()
    except SystemExit as e:  # typer turns Ctrl-C into a silent exit 130: say it, once
        if e.code == 130 and isinstance(getattr(e.__context__, "__cause__", None), KeyboardInterrupt):
            say("interrupted; nothing half-done is kept in the store (run the command again to go on)")
        raise
    except EnvrError as e:
        say(str(e))
        sys.exit(e.exit_code)
    except Exception as e:
        if os.environ.get("ENVR_DEBUG") == "1":
            raise
        say(f"internal error: {type(e).__name__}: {e} (ENVR_DEBUG=1 shows more)")
        sys.exit(70)
