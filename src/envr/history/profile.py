"""The user profile: tools wanted in every shell, kept as generations of links into the store.

    <data>/profile/generations/<N>/bin/<exe>   symlinks to <store path>/.envr/bin/<exe>
    <data>/profile/generations/<N>/manifest    one line per package: name, spec, store path (tab-separated)
    <data>/profile/current -> generations/<N>  switched by an atomic symlink flip (rename over the old link)

Every hooked shell has <data>/profile/current/bin on PATH, after the project's entries and before the rest (the
prompt core adds it and remembers the entry in ENVR_PROFILE so it can take it back exactly). Because the entry
names the `current` link, an install, a remove or a rollback shows at the very next command, with no reload.

Only on_path() is on the prompt's path; everything else imports what it needs when called.
"""

from __future__ import annotations

import os

from envr import dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

PROFILE_VAR = "ENVR_PROFILE"


def profile_dir() -> str:
    return os.path.join(dirs.data_dir(), "profile")


def current_link() -> str:
    return os.path.join(profile_dir(), "current")


def bin_entry() -> str:
    return os.path.join(current_link(), "bin")


def on_path(base: dict[str, str], expect: Callable[[str], None]) -> dict[str, str]:
    """base with the profile's bin dir (re)placed at the front of PATH while a profile exists."""
    added = base.pop(PROFILE_VAR, None)
    if added:
        entries = base.get("PATH", "").split(":")
        if added in entries:
            entries.remove(added)
            base["PATH"] = ":".join(entries)
    link = current_link()
    expect(link)
    if os.path.isdir(link):
        entry = bin_entry()
        base["PATH"] = entry + (":" + base["PATH"] if base.get("PATH") else "")
        base[PROFILE_VAR] = entry
    return base


# ---- managing the profile (the CLI; not on the prompt's path) ----

Manifest = dict[str, tuple[str, str]]  # name -> (spec as typed, store path)


def _error(message: str) -> Exception:
    from envr.errors import EnvrError

    return EnvrError(message)


def _gens() -> str:
    return os.path.join(profile_dir(), "generations")


def numbers() -> list[int]:
    try:
        return sorted(int(n) for n in os.listdir(_gens()) if n.isdigit())
    except FileNotFoundError:
        return []


def current() -> int:
    try:
        target = os.readlink(current_link())
    except OSError:
        return 0
    name = os.path.basename(target)
    return int(name) if name.isdigit() else 0


def manifest(n: int) -> Manifest:
    from envr.history.generations import _unesc

    out: Manifest = {}
    try:
        with open(os.path.join(_gens(), str(n), "manifest"), encoding="ascii") as f:
            for line in f:
                name, spec, path = (_unesc(x) for x in line.rstrip("\n").split("\t"))
                out[name] = (spec, path)
    except FileNotFoundError:
        pass
    return out


def roots() -> set[str]:
    """Store paths of every profile generation (gc roots)."""
    return {path for n in numbers() for _, path in manifest(n).values()}


def install(specs: list[str], environ: Mapping[str, str], say: Callable[[str], None]) -> tuple[int, bool]:
    """Realise specs and make a profile generation with them added; returns (generation, whether it is new)."""
    from envr.project import cli_specs
    from envr.project.packages import resolve, validate
    from envr.store import store_dir
    from envr.store.flocks import store_flock
    from envr.store.gc import keep_alive
    from envr.store.realise import realise

    given = cli_specs.parse_all(specs, os.getcwd())
    table: dict[str, object] = {p.name: p.entry for p in given}
    typed = {p.name: p.text for p in given}
    where = os.path.join(profile_dir(), "manifest")
    parsed = validate(where, "", os.getcwd(), table)
    store = store_dir()
    with _lock():
        with store_flock(store):
            resolved = resolve(parsed, store)
            for r in resolved.values():
                realise(store, r.path, r.recipe, r.source, r.spec, r.inputs, environ, say)
            keep_alive(store, [r.path for r in resolved.values()])
        wanted = dict(manifest(current()))
        for name, r in resolved.items():
            wanted[name] = (typed[name], r.path)
        return _commit(wanted)


def remove(names: list[str]) -> tuple[int, bool]:
    with _lock():
        wanted = dict(manifest(current()))
        for name in names:
            if name not in wanted:
                raise _error(f"{name} is not installed in the profile (see envr profile list)")
        for name in names:
            del wanted[name]
        return _commit(wanted)


def switch(n: int) -> int:
    with _lock():
        if n not in numbers():
            raise _error(f"the profile has no generation {n} (see envr profile generations)")
        _flip(n)
        return n


def rollback() -> int:
    with _lock():
        now = current()
        earlier = [k for k in numbers() if k < now]
        if not earlier:
            if now == 0:
                raise _error("the profile has no generations yet")
            raise _error(f"profile generation {now} is the first; there is nothing to roll back to")
        _flip(earlier[-1])
        return earlier[-1]


def drop_older_than(seconds: float) -> int:
    """Delete profile generations older than seconds, never the current one; returns how many."""
    import shutil
    import time

    cutoff = time.time() - seconds
    count = 0
    with _lock():
        keep = current()
        for n in numbers():
            gen = os.path.join(_gens(), str(n))
            if n != keep and os.lstat(gen).st_mtime < cutoff:
                shutil.rmtree(gen)
                count += 1
    return count


def _commit(wanted: Manifest) -> tuple[int, bool]:
    """Switch to a generation holding exactly wanted, reusing one that already does."""
    now = current()
    if now and manifest(now) == wanted:
        return now, False
    for n in reversed(numbers()):
        if manifest(n) == wanted and n != now:
            _flip(n)
            return n, False
    n = max([0, *numbers()]) + 1
    _build(n, wanted)
    _flip(n)
    return n, True


def _build(n: int, wanted: Manifest) -> None:
    import shutil

    from envr.history.generations import _esc
    from envr.store import bin_dir

    links: dict[str, tuple[str, str]] = {}  # exe -> (package, target)
    for name, (_, path) in sorted(wanted.items()):
        try:
            exes = sorted(os.listdir(bin_dir(path)))
        except FileNotFoundError:
            exes = []
        for exe in exes:
            if exe in links:
                raise _error(f"{links[exe][0]} and {name} both provide '{exe}'; remove one of them first")
            links[exe] = (name, os.path.join(bin_dir(path), exe))
    os.makedirs(_gens(), exist_ok=True)
    tmp = os.path.join(_gens(), f".tmp-{n}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "bin"))
    for exe, (_, target) in links.items():
        os.symlink(target, os.path.join(tmp, "bin", exe))
    with open(os.path.join(tmp, "manifest"), "w", encoding="ascii") as f:
        for name, (spec, path) in sorted(wanted.items()):
            f.write(f"{_esc(name)}\t{_esc(spec)}\t{_esc(path)}\n")
    os.rename(tmp, os.path.join(_gens(), str(n)))


def _flip(n: int) -> None:
    """Point current at generation n: a new link beside it, renamed over the old one (atomic)."""
    tmp = os.path.join(profile_dir(), f".current-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.join("generations", str(n)), tmp)
    os.replace(tmp, current_link())


class _lock:
    """Exclusive flock on <profile>/.lock: one profile change at a time."""

    def __enter__(self) -> None:
        import fcntl

        os.makedirs(profile_dir(), exist_ok=True)
        self.fd = os.open(os.path.join(profile_dir(), ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
