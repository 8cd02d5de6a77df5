"""The interface every package source implements, and the parsed form of a [packages] entry.

Plain classes, not dataclasses, and typing only under TYPE_CHECKING: entering a project with packages loads
this module on the prompt's lean path, where dataclasses' import alone costs ~6 ms.
"""

from __future__ import annotations

from envr.errors import ProjectFileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, ClassVar, Protocol


class PackageSpec:
    """One [packages] entry, shorthand expanded ("pypi:ruff==0.6.9" -> {"pypi": "ruff==0.6.9"})."""

    __slots__ = ("_line", "_locate", "entry", "kind", "locked", "name", "prefer", "project_file", "project_root")

    def __init__(
        self,
        name: str,  # the key in [packages]
        kind: str,  # which source handles it: url | path | pypi | npm
        entry: Mapping[str, Any],  # the full table (minus `prefer`), validated by the source
        project_root: str,  # relative paths (path sources, inputs) resolve against this
        project_file: str,  # for error messages: file:line
        line: int | None = None,
        prefer: tuple[str, ...] = (),  # executables this entry wins when packages collide (see packages.py)
        locate: Callable[[], int | None] | None = None,  # finds `line` on first use, so only errors pay for it
    ) -> None:
        self.name = name
        self.kind = kind
        self.entry = entry
        self.project_root = project_root
        self.project_file = project_file
        self.prefer = prefer
        # This package's entry in envr.lock (set by packages.resolve when a lock is present): a source that
        # resolves (pypi, npm) then installs exactly what it lists instead of resolving again.
        self.locked: dict[str, Any] | None = None
        self._line = line
        self._locate = locate

    @property
    def line(self) -> int | None:
        if self._line is None and self._locate is not None:
            self._line = self._locate()
            self._locate = None
        return self._line

    def error(self, message: str) -> ProjectFileError:
        """An error pointing at this entry in the project file."""
        return ProjectFileError(self.project_file, f"packages.{self.name}: {message}", self.line)

    def __repr__(self) -> str:
        return f"PackageSpec({self.name!r}, {self.kind!r}, {dict(self.entry)!r})"


class RealiseContext:
    """What a source may use while realising: where to log, how to report progress, resolved inputs."""

    def __init__(
        self,
        log_path: Path,
        inputs: Mapping[str, Path] | None = None,  # input package name -> its store path
        progress: Any = None,  # callable(done_bytes, total_bytes | None) or None
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self.inputs: Mapping[str, Path] = inputs if inputs is not None else {}
        self.progress = progress
        self.environ: Mapping[str, str] = environ if environ is not None else {}


class CliSpec:
    """A package as typed on the command line (`envr add pypi:ruff`, `shell -p`, `profile install`)."""

    __slots__ = ("entry", "kind", "name", "pin", "text")

    def __init__(
        self,
        text: str,
        kind: str,
        name: str,
        entry: str | dict[str, Any],
        pin: Callable[[str], str | dict[str, Any]] | None = None,
    ) -> None:
        self.text = text  # as typed
        self.kind = kind
        self.name = name  # the [packages] key it gets unless NAME= renames it
        self.entry = entry  # the envr.toml value: the "kind:rest" shorthand or a table
        self.pin = pin  # unpinned: version -> the entry pinned to it (what `envr add` writes once locked)

    @property
    def pinned(self) -> bool:
        return self.pin is None


# What Source.depends_on reports: ("env", NAME, value), ("tree", dir, signature), ("which", command, identity).
Dependency = tuple[str, str, object]

if TYPE_CHECKING:

    class Source(Protocol):
        """What a package source kind provides. Every member is required; sources that have nothing to do for
        one use the named defaults below (as pre-commit's languages do), so mypy checks each kind whole."""

        kind: ClassVar[str]
        shorthand: ClassVar[bool]  # entries may be written "kind:rest" (pypi:ruff==0.6.9)
        resolves: ClassVar[bool]  # locking asks a registry: `envr lock` keeps unchanged entries' resolution
        cli_form: ClassVar[str | None]  # how the command line writes one (pypi:REQUIREMENT); None: it does not

        def validate(self, spec: PackageSpec) -> None:
            """Raise ProjectFileError (file:line, key) for anything wrong in the entry, without I/O."""

        def version(self, spec: PackageSpec) -> str:
            """The version part of the store path name (e.g. '0.6.9'; 'local' or a short hash if none)."""

        def recipe(self, spec: PackageSpec) -> dict[str, Any]:
            """Canonical, JSON-serialisable description of exactly what is built; the store hashes it (plus the
            platform) into the store path. Must not contain the URL for fixed-output url entries.
            Cheap and offline: it names the store path."""

        def builds_in_place(self, spec: PackageSpec) -> bool:
            """True when the output embeds its own path ($out in a build script): the store then realises
            directly at the final store path, under its flock, instead of in a temp dir renamed into place."""

        def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
            """Fetch/build into out (an empty directory on the store's filesystem). Raise EnvrError on failure."""

        def bins(self, spec: PackageSpec, out: Path) -> list[str]:
            """Paths, relative to out, of the executables to expose on PATH."""

        def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
            """The exact resolution envr.lock records for the entry (network allowed for resolving kinds)."""

        def depends_on(self, spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
            """What the recipe reads besides the entry and its locked resolution, as cheap checks the prompt can
            repeat without importing this module: ("env", NAME, value or None), ("tree", dir, stat signature
            from fsutil.tree_signature), ("which", command, fsutil.which_identity). Cheap: no process."""

        def check_locked(self, spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
            """Why the lock's entry no longer matches what envr.toml points at (None: it matches), offline."""

        def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
            """`KIND:REST` as typed on the command line; raise EnvrError with the accepted forms."""


# Defaults a source assigns for the members it has nothing to do for.


def depends_on_nothing(spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
    return []


def never_in_place(spec: PackageSpec) -> bool:
    return False


def always_matches(spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
    return None


def no_cli(kind: str, forms: str) -> Callable[[str, str, str], CliSpec]:
    """parse_cli for a kind that is only ever written in envr.toml."""

    def parse_cli(text: str, rest: str, cwd: str) -> CliSpec:
        from envr.errors import EnvrError

        raise EnvrError(f"{text!r}: {kind} packages are written in envr.toml ({forms}), not on the command line")

    return parse_cli


def run_logged(argv: list[str], cwd: Path, env: Mapping[str, str], log_path: Path) -> tuple[int, str]:
    """Run a tool's install step, appending the command and everything it printed to log_path.

    Returns (exit status, its output) so the source can pick the one line worth showing. OSError (the tool
    itself is missing) propagates for the source to name the fix.
    """
    import subprocess

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            check=False,
        )
        log.write(proc.stdout)
    return proc.returncode, proc.stdout
