"""`envr init`, `envr add` and `envr remove`: editing envr.toml from the command line.

Edits go through tomlkit, so the user's comments and layout survive. Nothing is written until the edited file
validates and its lock resolves: a package that does not exist leaves envr.toml and envr.lock untouched.
Both files are written through a temp file and a rename. Adding and removing resolve packages, which can run
a package's build code, so both refuse a project that is not allowed (unless trust=True: approve it as it is
first, like `envr exec --trust`). The user made the change, so the edited project is approved again after it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from typing import Any

import tomlkit

from envr.errors import EnvrError
from envr.fsutil import write_atomic
from envr.project import lockfile
from envr.project.file import FILENAME, LOCKNAME, Project
from envr.project.load import parse
from envr.team import lock as relock
from envr.trust.allow import allow

STARTER = """\
# envr.toml: this directory's environment, applied when you cd in and reverted when you leave.
# Nothing here runs until you approve it with `envr allow`; any edit needs approving again.
version = 2

[env]
# GREETING = "hello"                 # exported while inside
# DATA = "${ENVR_ROOT}/data"         # ${NAME}: NAME's value before activation
# PAGER = false                      # unset while inside

[path]
# prepend = ["bin"]                  # relative to this directory, before your PATH

[packages]
# Add tools with `envr add pypi:ruff==0.6.9 npm:prettier@3.3.3`; `envr lock` pins them in envr.lock.
# ruff = "pypi:ruff==0.6.9"
# tools = { path = "./tools" }
"""

Say = Callable[[str], None]


def init(directory: str) -> str:
    """Write a commented starter envr.toml in directory and approve it; refuses to overwrite."""
    path = os.path.join(os.path.abspath(directory), FILENAME)
    if os.path.lexists(path):
        raise EnvrError(f"{path} already exists; not overwriting it")
    parse(path, STARTER.encode())  # the starter must always load
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise EnvrError(f"{path} already exists; not overwriting it") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(STARTER)
    allow(path)
    return path


def _load_doc(project_file: str) -> tuple[bytes, Any]:
    with open(project_file, "rb") as f:
        content = f.read()
    return content, tomlkit.parse(content.decode("utf-8"))


def _previous_lock(project: Project) -> lockfile.Lock | None:
    try:
        return lockfile.read(project.lock_file)
    except lockfile.LockError:
        return None  # an unreadable lock is rewritten from scratch


def add(project_file: str, specs: list[str], environ: Mapping[str, str], say: Say, trust: bool = False) -> list[str]:
    """Add (or replace) packages; returns the entries written, e.g. ['ruff = "pypi:ruff==0.6.9"']."""
    from envr.project import cli_specs

    root = os.path.dirname(os.path.abspath(project_file))
    parsed = cli_specs.parse_all(specs, os.getcwd())
    names = [p.name for p in parsed]
    relock.require_allowed(project_file, trust)
    old_content, doc = _load_doc(project_file)
    if "packages" not in doc:
        doc.add(tomlkit.nl())
        doc["packages"] = tomlkit.table()
    table = doc["packages"]
    for p in parsed:
        table[p.name] = _inside(p.entry, root)
    project = parse(project_file, tomlkit.dumps(doc).encode())
    lock = relock.make(project, environ, _previous_lock(project), set(names), say)
    for p in parsed:  # pin what was unpinned to the version just resolved
        version = lock.packages[p.name].get("version")
        if p.pin is not None and version:
            table[p.name] = p.pin(str(version))
    new_text = tomlkit.dumps(doc)
    project = parse(project_file, new_text.encode())
    for name in names:
        lock.packages[name]["entry"] = lockfile.entry_text(project.packages[name])
    lock.packages_hash = lockfile.section_hash(project.packages, project.platforms)
    old_lock = _write(project_file, new_text, lock)
    from envr.project.packages import sync

    try:
        sync(project, environ, say, only=names)
    except EnvrError:
        _restore(project_file, old_content, old_lock)
        raise
    return [f"{n} = {tomlkit.item(table[n]).as_string()}" for n in names]


def _inside(entry: str | dict[str, Any], root: str) -> str | dict[str, Any]:
    """An entry's absolute paths made relative when they lie in the project (so the file works in any clone)."""
    if not isinstance(entry, dict):
        return entry
    inside = {k: v for k, v in entry.items() if isinstance(v, str) and v.startswith(root + os.sep)}
    return {**entry, **{k: "./" + os.path.relpath(v, root) for k, v in inside.items()}}


def remove(project_file: str, names: list[str], environ: Mapping[str, str], say: Say, trust: bool = False) -> None:
    relock.require_allowed(project_file, trust)
    _, doc = _load_doc(project_file)
    table = doc.get("packages")
    for name in names:
        if table is None or name not in table:
            raise EnvrError(f"no package {name!r} in {project_file}")
    for name in names:
        del table[name]
    new_text = tomlkit.dumps(doc)
    project = parse(project_file, new_text.encode())
    lock = relock.make(project, environ, _previous_lock(project), None, say)
    _write(project_file, new_text, lock)


def _lock_path(project_file: str) -> str:
    return os.path.join(os.path.dirname(project_file), LOCKNAME)


def _write(project_file: str, text: str, lock: lockfile.Lock) -> bytes | None:
    """Write the lock, then envr.toml (each atomically); returns the lock's previous bytes (None: none)."""
    lock_path = _lock_path(project_file)
    try:
        with open(lock_path, "rb") as f:
            old_lock: bytes | None = f.read()
    except FileNotFoundError:
        old_lock = None
    write_atomic(lock_path, lockfile.render(lock))
    write_atomic(project_file, text)
    allow(project_file)
    return old_lock


def _restore(project_file: str, old_content: bytes, old_lock: bytes | None) -> None:
    """Put envr.toml and envr.lock back as they were before a failed add."""
    write_atomic(project_file, old_content.decode("utf-8"))
    if old_lock is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_lock_path(project_file))
    else:
        write_atomic(_lock_path(project_file), old_lock.decode("utf-8"))
    allow(project_file)


def hook_script() -> str:
    """hooks/pre-commit: inside the wheel it sits in the package; in a source checkout, at the repository's top."""
    from envr import dirs

    try:
        with open(os.path.join(dirs.shipped("hooks"), "pre-commit"), encoding="utf-8") as f:
            return f.read()
    except OSError:
        raise EnvrError("this envr installation has no hooks/pre-commit; reinstall envr") from None


def install_git_hook(cwd: str, force: bool = False) -> str:
    """Install hooks/pre-commit into the repository at cwd (where git itself looks: core.hooksPath respected)."""
    import subprocess

    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--git-path", "hooks"], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as e:
        raise EnvrError(f"cannot run git: {e.strerror}") from None
    if proc.returncode != 0:
        raise EnvrError(f"{cwd} is not inside a git repository")
    hooks = os.path.join(cwd, proc.stdout.strip())
    target = os.path.join(hooks, "pre-commit")
    text = hook_script()
    if os.path.exists(target) and not force:
        with open(target, encoding="utf-8", errors="replace") as f:
            if f.read() != text:
                raise EnvrError(f"{target} exists and is not envr's hook; add `envr lock --check` to it, or --force")
    os.makedirs(hooks, exist_ok=True)
    write_atomic(target, text, mode=0o755)
    os.chmod(target, 0o755)  # whatever the umask took away
    return os.path.normpath(target)
