"""[python] venv: the project's own virtual environment, made with the project's python and synced by uv.

    [python]
    venv = ".venv"                        # created with the python runtime of [packages] (else envr's own)
    requirements = "requirements.txt"     # optional; by default uv.lock / pyproject.toml, else requirements.txt

Activation (VIRTUAL_ENV, <venv>/bin first on PATH) is plain [env]/[path] data that project.file derives when
parsing, so the prompt applies and reverts it like any variable. Creating and syncing it is realisation:
`envr sync` and the prompt's autosync do it (never the pure compute, which only reads the stamp below).

Fresh means: <venv>/.envr-synced holds the key of what it was made from (the interpreter's path, the files it
was synced from, byte for byte); anything else, or no stamp, and the venv is reported missing as VENV.
With uv.lock it runs `uv sync --frozen` (exactly the lock; nothing is re-resolved), with only pyproject.toml
`uv sync` (which writes uv.lock, as uv sync does), with a requirements file `uv pip sync FILE`.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.fsutil import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from envr.project.file import Project

VENV = "[python] venv"  # its name in a view's missing list
STAMP = ".envr-synced"


def sources(project: Project) -> list[str]:
    """The files the venv is synced from (absolute), in the order they are read; empty: none."""
    assert project.venv is not None
    _, requirements = project.venv
    if requirements:
        return [os.path.join(project.root, requirements)]
    found = [os.path.join(project.root, n) for n in ("pyproject.toml", "uv.lock")]
    found = [p for p in found if os.path.isfile(p)]
    if found:
        return found
    plain = os.path.join(project.root, "requirements.txt")
    return [plain] if os.path.isfile(plain) else []


def interpreter(runtime_path: str | None) -> str:
    """The python the venv is made with: the runtime's (inside its store path), else envr's own."""
    if runtime_path is not None:
        return os.path.realpath(os.path.join(runtime_path, ".envr", "bin", "python3"))
    from envr.store.sources._interpreters import base_interpreter

    return base_interpreter()


def key(project: Project, runtime_path: str | None) -> str:
    h = sha256(interpreter(runtime_path).encode() + b"\0")
    for path in sources(project):
        h.update(path.encode() + b"\0")
        try:
            with open(path, "rb") as f:
                h.update(f.read())
        except OSError:
            h.update(b"(unreadable)")
    return h.hexdigest()


def directory(project: Project) -> str:
    assert project.venv is not None
    return os.path.join(project.root, project.venv[0])


def fresh(project: Project, runtime_path: str | None) -> bool:
    try:
        with open(os.path.join(directory(project), STAMP), encoding="ascii") as f:
            return f.read().strip() == key(project, runtime_path)
    except (OSError, UnicodeDecodeError):
        return False


def depends(project: Project) -> list[tuple[str, str, object]]:
    """What a cached view of the project depends on for the venv: its stamp and the files it syncs from."""
    from envr.fsutil import tree_signature

    out: list[tuple[str, str, object]] = []
    for path in [os.path.join(directory(project), STAMP), *sources(project)]:
        try:
            out.append(("tree", path, tree_signature(path)))
        except OSError:
            out.append(("tree", path, ""))
    return out


def sync(project: Project, runtime_path: str | None, environ: Mapping[str, str], say: Callable[[str], None]) -> None:
    """Create (or re-create) the venv with the project's python and sync it; the stamp is written last."""
    from envr import dirs
    from envr.fsutil import write_atomic
    from envr.store.sources import _tools
    from envr.store.sources.base import run_logged
    from envr.store.sources.pypi import uv_bin
    from envr.store.sources.uv_index import uv_environ

    venv = directory(project)
    python = interpreter(runtime_path)
    if not os.path.isfile(python):
        raise EnvrError(f"{project.file}: [python] venv: its python {python} does not exist")
    env = _tools.uv_env(uv_environ(environ))
    env.pop("VIRTUAL_ENV", None)
    env["UV_PROJECT_ENVIRONMENT"] = venv
    env["UV_PYTHON_DOWNLOADS"] = "never"
    uv = uv_bin()
    common = ["--no-progress", "--color", "never"]
    log = os.path.join(dirs.state_dir(), "logs", f"venv-{os.path.basename(project.root)}.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    from pathlib import Path

    steps: list[tuple[str, list[str]]] = []
    if not _made_with(venv, python):
        steps.append(("creating", [uv, "venv", *common, "--clear", "--python", python, venv]))
    files = sources(project)
    names = [os.path.basename(p) for p in files]
    if project.venv is not None and project.venv[1]:
        steps.append(("syncing", [uv, "pip", "sync", *common, "--python", f"{venv}/bin/python", files[0]]))
    elif "pyproject.toml" in names:
        frozen = ["--frozen"] if "uv.lock" in names else []
        steps.append(("syncing", [uv, "sync", *common, *frozen, "--python", python]))
    elif files:
        steps.append(("syncing", [uv, "pip", "sync", *common, "--python", f"{venv}/bin/python", files[0]]))
    stamp = os.path.join(venv, STAMP)
    if os.path.exists(stamp):
        os.unlink(stamp)
    for what, argv in steps:
        say(f"{what} {project.venv[0] if project.venv else 'venv'} with {python}")
        code, output = run_logged(argv, project.root, env, Path(log))
        if code != 0:
            from envr.store.sources.pypi import _last_error

            raise EnvrError(f"{project.file}: [python] venv: uv failed {what} (exit {code}): {_last_error(output)} "
                            f"(log: {log})")  # fmt: skip
    write_atomic(stamp, key(project, runtime_path) + "\n")


def _made_with(venv: str, python: str) -> bool:
    """Whether venv is a venv whose base interpreter is python (its pyvenv.cfg home is python's directory)."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    for line in lines:
        name, _, value = line.partition("=")
        if name.strip() == "home":
            return os.path.realpath(value.strip()) == os.path.dirname(python)
    return False
