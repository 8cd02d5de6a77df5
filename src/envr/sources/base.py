"""The interface every package source implements, and the parsed form of a [packages] entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from envr.errors import ProjectFileError


@dataclass(frozen=True)
class PackageSpec:
    """One [packages] entry, shorthand expanded ("pypi:ruff==0.6.9" -> {"pypi": "ruff==0.6.9"})."""

    name: str  # the key in [packages]
    kind: str  # which source handles it: url | path | pypi | npm
    entry: Mapping[str, Any]  # the full table, validated by the source
    project_root: str  # relative paths (path sources, inputs) resolve against this
    project_file: str  # for error messages: file:line
    line: int | None = None
    prefer: tuple[str, ...] = ()  # executables this entry wins when packages collide (packages.py handles it)

    def error(self, message: str) -> ProjectFileError:
        """An error pointing at this entry in the project file."""
        return ProjectFileError(self.project_file, f"packages.{self.name}: {message}", self.line)


@dataclass
class RealiseContext:
    """What a source may use while realising: where to log, how to report progress, resolved inputs."""

    log_path: Path
    inputs: Mapping[str, Path] = field(default_factory=dict)  # input package name -> its store path
    progress: Any = None  # callable(done_bytes, total_bytes | None) or None
    environ: Mapping[str, str] = field(default_factory=dict)


class Source(Protocol):
    kind: ClassVar[str]

    def validate(self, spec: PackageSpec) -> None:
        """Raise ProjectFileError (file:line, key) for anything wrong in the entry, without I/O."""

    def version(self, spec: PackageSpec) -> str:
        """The version part of the store path name (e.g. '0.6.9'; 'local' or a short hash if none)."""

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        """Canonical, JSON-serialisable description of exactly what is built; the store hashes it (plus the
        platform) into the store path. Must not contain the URL for fixed-output url entries."""

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        """Fetch/build into out (an empty directory on the store's filesystem). Raise EnvrError on failure."""

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        """Paths, relative to out, of the executables to expose on PATH."""


# Optional, looked up with getattr by the store:
#   builds_in_place(spec) -> bool   True when the output embeds its own path ($out in a build script): the store
#                                   then realises directly at the final store path, under its lock.
