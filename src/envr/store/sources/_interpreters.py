"""Which interpreter a PyPI tool is built on: the project's python runtime (by store path, an input of the
tool), else the interpreter envr runs on (by path and exact version, recorded as `external`)."""

from __future__ import annotations

import os
import sys

from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from envr.store.sources.base import PackageSpec, RealiseContext


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def python_version(spec: PackageSpec) -> str:
    """The Python version the tool is built for: the project's python runtime's, else the entry's `python`,
    else that of the interpreter envr runs on."""
    runtime = spec.uses.get("python")
    if runtime is not None:
        from envr.store.sources import source_for

        return source_for(runtime.kind).version(runtime)
    value = spec.entry.get("python")
    if isinstance(value, str):
        return value
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def base_interpreter() -> str:
    """The interpreter envr runs on, as a file outside any venv (what a venv made from it links to)."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(exe)


def interpreter_recipe(spec: PackageSpec) -> dict[str, Any]:
    """What the recipe says about the interpreter. The project's python runtime: its store path is an input of
    this package (in the outer recipe, and a registry reference). Otherwise envr's own interpreter, by path and
    exact version, recorded as `external` so `envr store verify` reports the tool once that file is gone.
    An entry's own `python = "X.Y"` (no runtime pinned) is asked of uv as before."""
    if "python" in spec.uses:
        return {"python": "runtime", "runtime": spec.uses["python"].name}
    if isinstance(spec.entry.get("python"), str):
        return {"python": _major_minor(python_version(spec))}
    exe = base_interpreter()
    return {"python": ".".join(str(n) for n in sys.version_info[:3]), "interpreter": exe, "external": [exe]}


def uv_python(spec: PackageSpec, ctx: RealiseContext) -> str:
    """What `uv venv --python` gets: an interpreter path (the runtime's, or envr's), never a version that uv
    would look for on PATH (or download), except for an entry's own `python = "X.Y"`."""
    runtime = spec.uses.get("python")
    if runtime is not None:
        store_path = ctx.inputs.get(runtime.name)
        if store_path is None:  # pragma: no cover - packages.resolve always passes a package's inputs
            raise EnvrError(f"packages.{spec.name}: its python ({runtime.name}) was not realised first")
        return os.path.realpath(os.path.join(store_path, ".envr", "bin", "python3"))  # inside the runtime
    value = spec.entry.get("python")
    return value if isinstance(value, str) else base_interpreter()
