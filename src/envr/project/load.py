"""Loading a project file whole: reading it, its schema (project.file) and its [packages] (project.packages).

`cached` is the prompt's way in: the parsed result of content that validated before is kept (marshal) under a
key of envr's version, the path and the approved content hash, so entering a project again needs neither
tomllib nor `re`. `envr allow` fills it, so the first prompt after an approved edit is a warm one.
"""

from __future__ import annotations

import os

from envr import __version__
from envr.errors import ProjectFileError
from envr.fsutil import key_of, memo_load, memo_save
from envr.project import file
from envr.project.file import Project

PARSED = "parsed"


def parse(path: str, content: bytes) -> Project:
    """Parse and validate; raises ProjectFileError with file:line:col."""
    project = file.parse(path, content)
    if project.packages:  # the sources validate their entries; the module stays off the no-packages path
        from envr.project.packages import validate

        validate(path, content.decode("utf-8"), project.root, project.packages, project.platforms)
    return project


def load(path: str, content: bytes | None = None) -> Project:
    """Read, parse and validate a project file."""
    path = os.path.abspath(path)
    if content is None:
        try:
            with open(path, "rb") as f:
                content = f.read()
        except OSError as e:
            raise ProjectFileError(path, f"cannot read: {e.strerror}") from None
    return parse(path, content)


def cache_key(project_file: str, digest: str) -> str:
    return key_of(f"{__version__}\0{project_file}\0{digest}")


def lookup(project_file: str, content: bytes, digest: str) -> Project | None:
    """The parsed project for content approved as digest, if it was parsed (and validated) before."""
    hit = memo_load(PARSED, cache_key(project_file, digest))
    if isinstance(hit, tuple) and len(hit) == 9:
        return Project.from_cache(project_file, content, hit)
    return None


def cached(project_file: str, content: bytes, digest: str) -> Project:
    """parse(), reusing the result for content (approved as digest) parsed before, and remembering it. Only
    files that validated are ever cached; a value marshal cannot hold (a TOML date) is parsed every time."""
    project = lookup(project_file, content, digest)
    if project is None:
        project = parse(project_file, content)
        remember(project, digest)
    return project


def remember(project: Project, digest: str) -> None:
    memo_save(PARSED, cache_key(project.file, digest), project.cacheable())
