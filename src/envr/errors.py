"""User-facing errors.

The core raises these with a message meant for a person; the CLI and the lean hook path turn them into one
line on stderr and an exit code. A traceback is only ever shown with ENVR_DEBUG=1.
"""


class EnvrError(Exception):
    """Anything envr can explain in one line."""

    exit_code = 1


class ProjectFileError(EnvrError):
    """envr.toml is malformed or asks for something envr refuses to do."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None) -> None:
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.column = column


class NotTrustedError(EnvrError):
    """The project file is not approved for its current content."""

    exit_code = 3


class NoProjectError(EnvrError):
    """No envr.toml at or above the directory."""


class SyncInterrupted(EnvrError):
    """Ctrl-C while the prompt realised missing packages: the shell stays as it was, watching for a sync."""

    exit_code = 130

    def __init__(self, names: list[str], paths: list[str]) -> None:
        super().__init__(
            f"interrupted before {', '.join(names)} {'was' if len(names) == 1 else 'were'} realised, "
            "so nothing changed; "
            "run envr sync and the project loads at the next prompt"
        )
        self.paths = paths  # the missing store paths: the prompt watches them appear
