"""Console entry point: `envr export` skips the typer CLI entirely, everything else goes through it."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "export":
        from envr.prompt.entry import main as export_main

        sys.exit(export_main(sys.argv[2:]))
    from envr.cli import run

    run()


if __name__ == "__main__":
    main()
