"""The [packages] table: parsing entries into PackageSpecs, resolving them to store paths, and PATH.

    [packages]
    ruff = "pypi:ruff==0.6.9"                                   # shorthand for { pypi = "ruff==0.6.9" }
    jq = { url = "https://.../jq-linux64", sha256 = "...", file = "jq" }
    hello = { url = "https://.../hello.tar.gz", sha256 = "...", build = "./configure --prefix=$out && make install" }
    tools = { path = "./tools", bin = ["*.sh"] }
    fd = { url = "...", sha256 = "...", prefer = ["fd"] }       # fd wins if another package also ships `fd`

Each entry has exactly one source key (url, path, pypi, npm). Keys every entry may have:
  prefer = ["exe", ...]  when two packages expose the same executable, this entry's copy wins on PATH.
Everything else belongs to the source module (envr.sources.<kind>), which validates it.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError, ProjectFileError
from envr.project.file import Project, locate
from envr.project.lockfile import UNREAD
from envr.store.sources import KINDS, PackageSpec, source_for

TYPE_CHECKING = False  # this module is on the prompt's path for projects with packages: no typing, re, dataclasses
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from envr.project.lockfile import Lock, Unread
    from envr.store.sources import Source

COMMON_KEYS = ("prefer",)
_NAME_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_NAME_CHARS = frozenset(_NAME_FIRST + "._+-")


def valid_package_name(name: str) -> bool:
    return bool(name) and name[0] in _NAME_FIRST and all(c in _NAME_CHARS for c in name)


class Resolved:
    """A package with its store path known (realised or not)."""

    __slots__ = ("inputs", "path", "recipe", "source", "spec")

    def __init__(self, spec: PackageSpec, source: Source, recipe: dict[str, Any], path: str, inputs: dict[str, str]):
        self.spec = spec
        self.source = source
        self.recipe = recipe
        self.path = path
        self.inputs = inputs  # input name -> store path


def validate(
    file: str, text: str, root: str, table: Mapping[str, Any], platforms: tuple[str, ...] = ()
) -> list[PackageSpec]:
    """Turn a raw [packages] table into specs; raises ProjectFileError with file:line for the first mistake.
    platforms: the project's `platforms` (what envr lock resolves runtimes and per-platform urls for)."""
    specs = []
    for name, value in table.items():

        def error(message: str, name: str = name) -> ProjectFileError:
            line, col = locate(file, text, "packages", name)
            return ProjectFileError(file, message, line, col)

        def line_of(name: str = name) -> int | None:
            return locate(file, text, "packages", name)[0]

        if not valid_package_name(name):
            raise error(f"invalid package name {name!r} (letters, digits and . _ + -, not starting with . _ + -)")
        if isinstance(value, str):
            kind, sep, rest = value.partition(":")
            if not sep or kind not in KINDS or not source_for(kind).shorthand or not rest:
                forms = " or ".join(f'"{k}:..."' for k in KINDS if source_for(k).shorthand)
                raise error(f"packages.{name}: a string must be {forms}, not {value!r}")
            value = {kind: rest}
        if not isinstance(value, dict):
            raise error(f"packages.{name} must be a table or a KIND:SPEC string, not {type(value).__name__}")
        kinds = [k for k in KINDS if k in value]
        if len(kinds) > 1:  # a runtime's name is also another kind's key ({ pypi = "...", python = "3.12" })
            kinds = [k for k in kinds if source_for(k).provides is None] or kinds
        if not kinds:  # a table a kind recognises without its key: node = { version-file = ".nvmrc" }
            kinds = [k for k in KINDS if source_for(k).claims(name, value)][:1]
        if not kinds:
            raise error(f"packages.{name} has no source: give exactly one of {', '.join(KINDS)}")
        if len(kinds) > 1:
            raise error(f"packages.{name} has two sources ({' and '.join(kinds)}): give exactly one")
        prefer = value.get("prefer", [])
        if not isinstance(prefer, list) or not all(isinstance(p, str) and p for p in prefer):
            raise error(f"packages.{name}.prefer must be an array of executable names")
        entry = {k: v for k, v in value.items() if k not in COMMON_KEYS}
        spec = PackageSpec(name, kinds[0], entry, root, file, None, tuple(prefer), line_of)
        try:
            source = source_for(kinds[0])
        except ImportError:
            raise error(f"packages.{name}: this envr has no {kinds[0]} source") from None
        spec.platforms = platforms
        source.validate(spec)
        specs.append(spec)
    _attach_runtimes(specs)
    by_name = {s.name: s for s in specs}
    for spec in specs:
        for dep in _inputs(spec):
            if dep not in by_name:
                raise ProjectFileError(file, f"packages.{spec.name}: input {dep!r} is not in [packages]", spec.line)
    _dependency_order(specs)
    return specs


def specs_of(project: Project) -> list[PackageSpec]:
    text = project.content.decode("utf-8")
    return validate(project.file, text, project.root, project.packages, project.platforms)


def _attach_runtimes(specs: list[PackageSpec]) -> None:
    """Cross-kind references: an entry whose source needs a runtime (a pypi tool needs "python", an npm tool
    "node") builds on the project's entry providing it, which becomes one of its inputs (ordered first, its
    store path in this entry's recipe and registered as a reference). Two entries providing one runtime are
    ambiguous for the entries that need it."""
    providers: dict[str, list[PackageSpec]] = {}
    for spec in specs:
        word = source_for(spec.kind).provides
        if word is not None:
            providers.setdefault(word, []).append(spec)
    for spec in specs:
        for word in source_for(spec.kind).needs(spec):
            found = providers.get(word, [])
            if len(found) > 1:
                names = " and ".join(s.name for s in found)
                raise spec.error(f"builds on the project's {word}, but {names} both provide one; keep one")
            if found and found[0] is not spec:
                spec.uses[word] = found[0]


def _inputs(spec: PackageSpec) -> list[str]:
    value = spec.entry.get("inputs", [])
    names = list(value) if isinstance(value, list) else []
    return names + [s.name for s in spec.uses.values() if s.name not in names]


def _dependency_order(specs: list[PackageSpec]) -> list[list[PackageSpec]]:
    """Levels: each level's packages depend only on earlier levels. Raises on a cycle."""
    done: set[str] = set()
    left = list(specs)
    levels = []
    while left:
        level = [s for s in left if all(d in done for d in _inputs(s))]
        if not level:
            names = ", ".join(s.name for s in left)
            raise ProjectFileError(left[0].project_file, f"packages form an input cycle: {names}", left[0].line)
        levels.append(level)
        done.update(s.name for s in level)
        left = [s for s in left if s.name not in done]
    return levels


def resolve(
    specs: list[PackageSpec], store: str, failed: dict[str, str] | None = None, lock: Lock | None = None
) -> dict[str, Resolved]:
    """Every package's store path, in file order. Inputs' store paths are part of a package's recipe.

    With a lock (see envr.lockfile), each spec carries its locked entry and the source names its recipe from
    that exact resolution; a package missing from the lock is an error naming `envr lock`.

    A recipe that cannot be made (a path source whose directory is gone) raises, or, given `failed`, is
    recorded there (name -> message) with the packages that take it as input, and left out."""
    from envr.store.hashing import path_hash

    out: dict[str, Resolved] = {}
    for level in _dependency_order(specs):
        for spec in level:
            source = source_for(spec.kind)
            lost = [d for d in _inputs(spec) if d not in out]
            if lost and failed is not None:
                failed[spec.name] = f"packages.{spec.name}: its input {lost[0]} is unavailable"
                continue
            inputs = {d: out[d].path for d in _inputs(spec)}
            try:
                if lock is not None:
                    _attach_lock(spec, lock)
                made = source.recipe(spec)
            except EnvrError as e:
                if failed is None:
                    raise
                failed[spec.name] = str(e)
                continue
            recipe: dict[str, Any] = {"kind": spec.kind, "source": made}
            if inputs:
                recipe["inputs"] = {d: os.path.basename(p) for d, p in inputs.items()}
            version = spec.locked.get("version") if spec.locked else None
            base = f"{path_hash(recipe)}-{spec.name}-{version or source.version(spec)}"
            out[spec.name] = Resolved(spec, source, recipe, os.path.join(store, base), inputs)
    return {s.name: out[s.name] for s in specs if s.name in out}


def _attach_lock(spec: PackageSpec, lock: Lock) -> None:
    from envr.project.lockfile import RUN_LOCK, LockError, check_entry

    locked = lock.packages.get(spec.name)
    if locked is None:
        raise LockError(f"packages.{spec.name} is not in {spec.project_root}/envr.lock; {RUN_LOCK}")
    check_entry(spec, locked)
    spec.locked = locked


def lock_of(project: Project) -> Lock | None:
    """The project's envr.lock, checked against envr.toml (stale: an error); None without one."""
    from envr.project.lockfile import for_project

    return for_project(project)


def sync(
    project: Project,
    environ: Mapping[str, str],
    say: Callable[[str], None],
    only: list[str] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    lock_content: bytes | Unread | None = UNREAD,
) -> tuple[dict[str, Resolved], list[str]]:
    """Realise the project's packages (or only some of them, plus their inputs); independent packages in
    parallel. Returns every package resolved and the names built by this call. lock_content: envr.lock's bytes
    as the caller read (and had approved) them; by default the file is read now."""
    from concurrent.futures import ThreadPoolExecutor

    from envr.store import store_dir
    from envr.store.realise import realise
    from envr.store.sources.base import map_interruptible

    store = store_dir()
    from envr.project.lockfile import for_project
    from envr.project.venv import VENV

    specs = specs_of(project)
    want_venv = project.venv is not None and (only is None or VENV in only)
    if only is not None:
        runtime = _provider(specs, "python") if want_venv else None
        only = [n for n in only if n != VENV] + ([runtime.name] if runtime is not None else [])
    lock = for_project(project, lock_content)
    from envr.store.sources import fetching

    unresolved: dict[str, str] = {}  # name -> why its store path cannot be named
    with fetching():  # realising may download a runtime's index that names its store path
        resolved = resolve(specs, store, unresolved, lock)
    if only is not None:
        unresolved.clear()  # the caller (the prompt) reported those already
    wanted = _with_inputs(specs, only) if only is not None else {s.name for s in specs}
    wanted &= resolved.keys()
    built: list[str] = []
    errors: list[EnvrError] = []

    def one(r: Resolved) -> None:
        try:
            if realise(store, r.path, r.recipe, r.source, r.spec, r.inputs, environ, say, progress):
                built.append(r.spec.name)
        except EnvrError as e:
            errors.append(e)

    from envr.store.flocks import store_flock
    from envr.store.gc import keep_alive

    with store_flock(store):  # gc waits until the paths are rooted (until this process exits)
        for level in _dependency_order(specs):
            todo = [resolved[s.name] for s in level if s.name in wanted]
            with ThreadPoolExecutor(max_workers=max(1, min(8, len(todo)))) as pool:
                map_interruptible(pool, one, todo)  # Ctrl-C: the workers stop, queued ones never start
            if errors:  # each problem said, the first realisation error raised (its exit code counts)
                for problem in [*unresolved.values(), *(str(e) for e in errors[1:])]:
                    say(problem)
                raise errors[0]
        keep_alive(store, [r.path for r in resolved.values()])
        if unresolved:  # the rest is realised; each package that could not be named is said, the last raised
            *before, last = unresolved.values()
            for problem in before:
                say(problem)
            raise EnvrError(last)
        if want_venv:  # the project's own venv, on the project's python (realised above)
            from envr.project import venv

            venv.sync(project, _runtime_path(specs, resolved, "python"), environ, say)
    from envr.project import attempts

    attempts.forget(project.file)  # a prompt that gave up on this content may realise it again
    return resolved, built


def _with_inputs(specs: list[PackageSpec], names: list[str]) -> set[str]:
    by_name = {s.name: s for s in specs}
    want: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n not in want:
            want.add(n)
            stack.extend(_inputs(by_name[n]))
    return want


class View:
    """A project's packages as the prompt sees them: the realised ones' PATH dirs in order, the rest by name."""

    __slots__ = ("bins", "depends", "failed", "missing", "paths")

    def __init__(self) -> None:
        self.bins: list[str] = []  # PATH dirs of the realised packages, in PATH order
        self.paths: dict[str, str] = {}  # name -> store path, realised or not
        self.missing: list[str] = []  # names not realised (or whose recipe could not be made), in file order
        self.failed: dict[str, str] = {}  # name -> why its recipe could not be made
        self.depends: list[tuple[str, str, object]] = []  # what the store paths' names depend on (Source.depends_on)


def view(
    project: Project, environ: Mapping[str, str], lock_content: bytes | Unread | None = UNREAD, store: str | None = None
) -> View:
    """Which packages are realised and where they go on PATH: one stat per package, nothing written, nothing
    built (the prompt decides about realising). lock_content: envr.lock's bytes as the caller read them."""
    from envr.project.lockfile import for_project
    from envr.store import bin_dir, looks_valid, store_dir

    store = store or store_dir()
    specs = specs_of(project)
    out = View()
    resolved = resolve(specs, store, out.failed, for_project(project, lock_content))
    valid = {r.path for r in resolved.values() if looks_valid(r.path)}
    out.bins = [bin_dir(r.path) for r in _path_order([r for r in resolved.values() if r.path in valid])]
    out.paths = {name: r.path for name, r in resolved.items()}
    out.missing = [s.name for s in specs if s.name in out.failed or out.paths[s.name] not in valid]
    for r in resolved.values():
        out.depends.extend(r.source.depends_on(r.spec, environ))
    if project.venv is not None:  # the project's own venv: missing until synced from what it is made of
        from envr.project import venv

        if not venv.fresh(project, _runtime_path(specs, resolved, "python")):
            out.missing.append(venv.VENV)
        out.depends.extend(venv.depends(project))
    return out


def _provider(specs: list[PackageSpec], word: str) -> PackageSpec | None:
    """The project's entry providing a runtime ("python"), if it pins one."""
    return next((s for s in specs if source_for(s.kind).provides == word), None)


def _runtime_path(specs: list[PackageSpec], resolved: Mapping[str, Resolved], word: str) -> str | None:
    found = _provider(specs, word)
    return resolved[found.name].path if found is not None and found.name in resolved else None


def _path_order(ready: list[Resolved]) -> list[Resolved]:
    """File order, except that a package `prefer`ring an executable goes before the others that ship it.
    Two packages shipping one name with no (or two) preferences is an error naming both."""
    from envr.store import bin_dir

    owners: dict[str, list[Resolved]] = {}
    for r in ready:
        try:
            names = os.listdir(bin_dir(r.path))
        except FileNotFoundError:
            names = []
        for exe in names:
            owners.setdefault(exe, []).append(r)
    before: dict[str, set[str]] = {r.spec.name: set() for r in ready}  # name -> packages that must precede it
    for exe, pkgs in sorted(owners.items()):
        if len(pkgs) < 2:
            continue
        winners = [r for r in pkgs if exe in r.spec.prefer]
        who = " and ".join(r.spec.name for r in pkgs)
        if len(winners) != 1:
            spec = pkgs[0].spec
            how = "both prefer it" if winners else f'add prefer = ["{exe}"] to the one that should win'
            raise ProjectFileError(spec.project_file, f"packages {who} both provide '{exe}'; {how}", spec.line)
        for r in pkgs:
            if r is not winners[0]:
                before[r.spec.name].add(winners[0].spec.name)
    order: list[Resolved] = []
    placed: set[str] = set()
    left = list(ready)
    while left:
        nxt = next((r for r in left if before[r.spec.name] <= placed), None)
        if nxt is None:
            spec = left[0].spec
            raise ProjectFileError(spec.project_file, "packages' prefer settings contradict each other", spec.line)
        order.append(nxt)
        placed.add(nxt.spec.name)
        left.remove(nxt)
    return order
