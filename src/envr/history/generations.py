"""Project generations: every realised environment a project had, so any of them can come back at once.

Layout, under the data dir, one directory per project file (named by a hash of its path, like approvals):

    <data>/generations/<key>/project      the project file's path (prune and gc drop projects whose directory is gone)
    <data>/generations/<key>/<N>.gen      generation N: time, store paths, PATH dirs, env templates, resolved env
    <data>/generations/<key>/current      "N SIGNATURE": the latest generation and a hash of what it holds
    <data>/generations/<key>/pin          "N DIGEST": generation N is active while the project file's content
                                          hash is still DIGEST (an edit or `envr sync` ends the pin)

The prompt's core reads `pin` (usually absent: one failed open) and `current` (one small read), and writes only
when the environment differs from the latest generation. This module is on the prompt's path: os and the builtin
sha256, nothing else (no json: a record is lines of tab-separated, unicode_escape'd fields).
"""

from __future__ import annotations

import os
import time

from envr import dirs
from envr.fsutil import key_of, sha256, write_atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

HASH_CHARS = 32  # store path names: <32 hex>-<name>-<version> (envr.store.hashing.HASH_CHARS)


def root_dir() -> str:
    return os.path.join(dirs.data_dir(), "generations")


def project_dir(project_file: str) -> str:
    return os.path.join(root_dir(), key_of(os.path.abspath(project_file)))


def pin_file(project_file: str) -> str:
    return os.path.join(project_dir(project_file), "pin")


def _read_words(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().split()
    except (OSError, ValueError):  # missing, unreadable, or not text (a corrupted file is no pin at all)
        return []


def read_pin(project_file: str, digest: str) -> int | None:
    """The pinned generation's number, if a pin exists for exactly this content of the project file."""
    words = _read_words(pin_file(project_file))
    if len(words) == 2 and words[1] == digest and words[0].isdigit():
        return int(words[0])
    return None


def current(gdir: str) -> tuple[int, str]:
    """(latest generation number, its signature); (0, "") for a project without generations."""
    words = _read_words(os.path.join(gdir, "current"))
    if len(words) == 2 and words[0].isdigit():
        return int(words[0]), words[1]
    return 0, ""


def _esc(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def _unesc(text: str) -> str:
    return text.encode("ascii").decode("unicode_escape")


def serialise(content: Mapping[str, Any]) -> list[str]:
    """A generation's lines, in a fixed order; `time` and `set` lines do not count towards its signature."""
    lines = [f"pkg\t{_esc(k)}\t{_esc(v)}" for k, v in sorted(content["packages"].items())]
    lines += [f"bin\t{_esc(b)}" for b in content["bins"]]
    for name, value in sorted(content["env"].items()):
        lines.append(f"unset\t{_esc(name)}" if value is None else f"env\t{_esc(name)}\t{_esc(value)}")
    lines += [f"pre\t{_esc(p)}" for p in content["prepend"]]
    lines += [f"app\t{_esc(p)}" for p in content["append"]]
    return lines


def _parse(text: str) -> dict[str, Any]:
    data: dict[str, Any] = {"packages": {}, "bins": [], "env": {}, "prepend": [], "append": [], "resolved": {}}
    for line in text.splitlines():
        kind, *fields = [_unesc(f) for f in line.split("\t")]
        if kind == "pkg":
            data["packages"][fields[0]] = fields[1]
        elif kind == "bin":
            data["bins"].append(fields[0])
        elif kind == "env":
            data["env"][fields[0]] = fields[1]
        elif kind == "unset":
            data["env"][fields[0]] = None
        elif kind == "pre":
            data["prepend"].append(fields[0])
        elif kind == "app":
            data["append"].append(fields[0])
        elif kind == "set":
            data["resolved"][fields[0]] = fields[1] if len(fields) > 1 else None
        elif kind == "time":
            data["time"] = float(fields[0])
    return data


def load(gdir: str, n: int) -> dict[str, Any] | None:
    try:
        with open(os.path.join(gdir, f"{n}.gen"), encoding="ascii") as f:
            data = _parse(f.read())
    except (OSError, ValueError, IndexError):
        return None
    return data if "time" in data else None  # every record has its time: an empty or cut file is none


def package_paths(bins: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """name -> store path for package PATH dirs (<path>/.envr/bin), matching names against store path names."""
    out: dict[str, str] = {}
    by_length = sorted(names, key=len, reverse=True)
    for b in bins:
        path = os.path.dirname(os.path.dirname(b))
        rest = os.path.basename(path)[HASH_CHARS + 1 :]
        name = next((n for n in by_length if rest.startswith(n + "-") and n not in out), rest)
        out[name] = path
    return out


def signature(content: Mapping[str, Any]) -> str:
    """What makes two generations the same: store paths, PATH dirs, env and [path] templates (not times)."""
    blob = "\n".join(serialise(content))
    return sha256(blob.encode("ascii")).hexdigest()[:32]


def record(project_file: str, content: dict[str, Any]) -> int | None:
    """Record content as a new generation unless the latest one holds the same; returns the new number.

    content: packages (name -> store path), bins, env (templates), prepend, append, resolved (values set)."""
    gdir = project_dir(project_file)
    sig = signature(content)
    if current(gdir)[1] == sig:
        return None
    import fcntl

    os.makedirs(gdir, exist_ok=True)
    fd = os.open(os.path.join(gdir, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        latest, latest_sig = current(gdir)
        if latest_sig == sig:
            return None
        n = max([latest, *numbers(gdir)]) + 1
        lines = [f"time\t{time.time()!r}", *serialise(content)]
        for name, value in content["resolved"].items():
            lines.append(f"set\t{_esc(name)}" + ("" if value is None else f"\t{_esc(value)}"))
        write_atomic(os.path.join(gdir, "project"), os.path.abspath(project_file) + "\n")
        write_atomic(os.path.join(gdir, f"{n}.gen"), "".join(line + "\n" for line in lines))
        write_atomic(os.path.join(gdir, "current"), f"{n} {sig}\n")
        unpin(project_file)  # a new environment ends any pin
        return n
    finally:
        os.close(fd)


def numbers(gdir: str) -> list[int]:
    """The kept generations' numbers, ascending."""
    try:
        names = os.listdir(gdir)
    except FileNotFoundError:
        return []
    return sorted(int(n[:-4]) for n in names if n.endswith(".gen") and n[:-4].isdigit())


def generation_content(
    project_env: Mapping[str, str | None],
    prepend: Sequence[str],
    append: Sequence[str],
    bins: Sequence[str],
    package_names: Sequence[str],
    resolved: Mapping[str, str | None],
) -> dict[str, Any]:
    return {
        "packages": package_paths(bins, package_names),
        "bins": list(bins),
        "env": dict(project_env),
        "prepend": list(prepend),
        "append": list(append),
        "resolved": dict(resolved),
    }


# ---- management (the CLI and gc; not on the prompt's path) ----


def _error(message: str) -> Exception:
    from envr.errors import EnvrError

    return EnvrError(message)


def active(project_file: str, digest: str) -> tuple[int, int | None]:
    """(latest generation, pinned generation or None) for this content of the project file."""
    return current(project_dir(project_file))[0], read_pin(project_file, digest)


def protected(gdir: str) -> set[int]:
    """Generations never deleted: the latest and a pinned one."""
    keep = {current(gdir)[0]}
    words = _read_words(os.path.join(gdir, "pin"))
    if words and words[0].isdigit():
        keep.add(int(words[0]))
    return keep


def version_of(path: str, name: str) -> str:
    rest = os.path.basename(path)[HASH_CHARS + 1 :]
    return rest[len(name) + 1 :] if rest.startswith(name + "-") else rest


def summary(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    """One line: `+ruff 0.6.9  -ruff 0.5.7  +FOO  ~PATH`, relative to the generation before."""
    old_pk: dict[str, str] = dict(before["packages"]) if before else {}
    new_pk: dict[str, str] = dict(after["packages"])
    parts = []
    for name in sorted(set(old_pk) | set(new_pk)):
        a, b = old_pk.get(name), new_pk.get(name)
        if a == b:
            continue
        if a is not None and b is not None and version_of(a, name) == version_of(b, name):
            parts.append(f"~{name} {version_of(b, name)}")
            continue
        if b is not None:
            parts.append(f"+{name} {version_of(b, name)}")
        if a is not None:
            parts.append(f"-{name} {version_of(a, name)}")
    old_env: dict[str, Any] = dict(before["env"]) if before else {}
    new_env: dict[str, Any] = dict(after["env"])
    for name in sorted(set(old_env) | set(new_env)):
        if name not in old_env:
            parts.append(f"+{name}")
        elif name not in new_env:
            parts.append(f"-{name}")
        elif old_env[name] != new_env[name]:
            parts.append(f"~{name}")
    if before is not None and (before["prepend"], before["append"]) != (after["prepend"], after["append"]):
        parts.append("~PATH")
    return "  ".join(parts) if parts else ("initial" if before is None else "no change")


def listing(project_file: str, digest: str) -> list[tuple[int, float, str, str]]:
    """(number, time, mark, summary) per kept generation; mark is 'current', 'pinned', 'latest' or ''."""
    gdir = project_dir(project_file)
    latest, pin = active(project_file, digest)
    rows = []
    prev: dict[str, Any] | None = None
    for n in numbers(gdir):
        data = load(gdir, n)
        if data is None:
            continue
        if pin is not None:
            mark = "current (pinned)" if n == pin else ("latest" if n == latest else "")
        else:
            mark = "current" if n == latest else ""
        rows.append((n, float(data.get("time", 0)), mark, summary(prev, data)))
        prev = data
    return rows


def switch(project_file: str, digest: str, n: int) -> int | None:
    """Make generation n the project's active one (a pin, or no pin for the latest); returns the pin."""
    from envr.store import looks_valid

    gdir = project_dir(project_file)
    data = load(gdir, n)
    if data is None:
        raise _error(f"{project_file} has no generation {n} (see envr generations)")
    lost = [p for p in data["packages"].values() if not looks_valid(p)]
    if lost:
        raise _error(f"generation {n} cannot be used: {lost[0]} is no longer in the store")
    if n == current(gdir)[0]:
        unpin(project_file)
        return None
    write_atomic(pin_file(project_file), f"{n} {digest}\n")
    return n


def rollback(project_file: str, digest: str) -> int | None:
    latest, pin = active(project_file, digest)
    now = pin if pin is not None else latest
    earlier = [k for k in numbers(project_dir(project_file)) if k < now]
    if not earlier:
        if now == 0:
            raise _error(f"{project_file} has no generations yet")
        raise _error(f"generation {now} is the first kept one; there is nothing to roll back to")
    return switch(project_file, digest, earlier[-1])


def unpin(project_file: str) -> bool:
    try:
        os.unlink(pin_file(project_file))
        return True
    except FileNotFoundError:
        return False


def delete(project_file: str, which: Sequence[int]) -> list[int]:
    """Delete exactly these generations, or none of them if one is missing or protected."""
    gdir = project_dir(project_file)
    kept = set(numbers(gdir))
    keep = protected(gdir)
    for n in which:
        if n not in kept:
            raise _error(f"{project_file} has no generation {n}")
        if n in keep:
            raise _error(f"generation {n} is the current one and cannot be deleted")
    for n in sorted(set(which)):
        os.unlink(os.path.join(gdir, f"{n}.gen"))
    return sorted(set(which))


def select_old(gdir: str, keep_last: int | None = None, older_than: float | None = None) -> list[int]:
    """Generations beyond the last keep_last, or recorded more than older_than seconds ago; never protected."""
    kept = numbers(gdir)
    keep = protected(gdir)
    doomed: set[int] = set()
    if keep_last is not None:
        doomed.update(kept[: max(0, len(kept) - keep_last)])
    if older_than is not None:
        cutoff = time.time() - older_than
        for n in kept:
            data = load(gdir, n)
            if data is not None and float(data.get("time", 0)) < cutoff:
                doomed.add(n)
    return sorted(doomed - keep)


def parse_age(text: str) -> float:
    """'30d', '12h', '45m', '90s' or '2w' in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise _error(f"invalid age {text!r}: use a number and one of s, m, h, d, w (like 30d)")
    return int(text[:-1]) * units[text[-1]]


def project_of(gdir: str) -> str:
    try:
        with open(os.path.join(gdir, "project"), encoding="utf-8", errors="surrogateescape") as f:
            return f.readline().rstrip("\n")
    except OSError:
        return ""


def all_projects() -> list[str]:
    """Every project directory under the generations root."""
    try:
        return [os.path.join(root_dir(), k) for k in sorted(os.listdir(root_dir())) if not k.startswith(".")]
    except FileNotFoundError:
        return []


def prune_dead() -> list[str]:
    """Drop the generations of projects whose directory no longer exists; returns their project files."""
    import shutil

    dropped = []
    for gdir in all_projects():
        file = project_of(gdir)
        if file and os.path.isdir(os.path.dirname(file)):
            continue
        shutil.rmtree(gdir, ignore_errors=True)
        dropped.append(file or gdir)
    return dropped


def drop_older_than(seconds: float) -> int:
    """Delete every project's generations older than seconds (never a protected one); returns how many."""
    count = 0
    for gdir in all_projects():
        for n in select_old(gdir, older_than=seconds):
            os.unlink(os.path.join(gdir, f"{n}.gen"))
            count += 1
    return count


def roots() -> set[str]:
    """Store paths of every kept generation of every project."""
    out: set[str] = set()
    for gdir in all_projects():
        for n in numbers(gdir):
            data = load(gdir, n)
            if data is not None:
                out.update(data.get("packages", {}).values())
    return out
