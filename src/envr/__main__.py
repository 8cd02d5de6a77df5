"""Console entry point: `envr export` and `envr prompt` (run at every prompt) skip the typer CLI entirely;
everything else goes through it."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "export":
        from envr.prompt.entry import main as export_main

        sys.exit(export_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "prompt":
        from envr.prompt.segment import main as segment_main

        code = segment_main(sys.argv[2:])
        if code is not None:
            sys.exit(code)
    from envr.cli import run

    run()


if __name__ == "__main__":
    main()
