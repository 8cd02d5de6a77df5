"""The top-level `platforms` and the [python] section of envr.toml (project.file calls these while parsing)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PLATFORM_WORDS = ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64")  # what `platforms` may list
PYTHON_KEYS = ("venv", "requirements")


def parse_platforms(value: Any, where: Any) -> tuple[str, ...]:
    """`platforms = ["linux-x64", "darwin-arm64"]`: envr's platform words, each once."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(None, "platforms", 'platforms must be an array such as ["linux-x64", "darwin-arm64"]')
    for v in value:
        if v not in PLATFORM_WORDS:
            raise where.error(None, "platforms", f"unknown platform {v!r} (envr knows {', '.join(PLATFORM_WORDS)})")
    if len(set(value)) != len(value):
        raise where.error(None, "platforms", "platforms lists a platform twice")
    return tuple(value)


def parse_python(table: dict[str, Any], where: Any) -> tuple[str, str] | None:
    """[python] venv = ".venv" (requirements = "requirements.txt"): the project's own virtual environment."""
    for key in table:
        if key not in PYTHON_KEYS:
            raise where.error("python", key, f"unknown key python.{key} (expected {' or '.join(PYTHON_KEYS)})")
    paths = []
    for key in PYTHON_KEYS:
        value = table.get(key, "")
        if not isinstance(value, str) or "\0" in value or os.path.isabs(value) or value.startswith("~"):
            raise where.error("python", key, f"python.{key} must be a path relative to the project")
        parts = value.replace("\\", "/").split("/")
        if ".." in parts or ":" in value:
            raise where.error("python", key, f"python.{key} must stay inside the project (no '..', no ':')")
        paths.append(os.path.normpath(value) if value else "")
    if not paths[0]:
        if paths[1]:
            raise where.error("python", "requirements", 'python.requirements needs python.venv = ".venv"')
        return None
    if paths[0] == ".":
        raise where.error("python", "venv", "python.venv must be a directory inside the project, not its root")
    return paths[0], paths[1]
