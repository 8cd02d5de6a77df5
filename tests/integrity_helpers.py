"""Helpers for the store-integrity tests: a fresh envr world (HOME, XDG dirs, ENVR_STORE) reachable by another
uid, running the installed `envr` as that uid (setpriv), projects with path packages and build scripts, and
waiting for processes to go away (a bounded wait for an event, never a timing assertion)."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from envr_testing import isolated_env

ENVR = str(Path(sys.executable).parent / "envr")
USER = 4242  # the second uid of the permission cases (CI runs as root, which ignores modes)
OTHER = 4243  # a third one: "another local user"
SETPRIV = shutil.which("setpriv")


class World:
    """One test's envr world under a directory other uids can traverse."""

    def __init__(self, tmp: Path, uid: int | None = None) -> None:
        self.tmp = tmp
        self.uid = uid
        self.env = isolated_env(tmp)
        self.give(tmp)

    @property
    def store(self) -> Path:
        return Path(self.env["ENVR_STORE"])

    @property
    def data(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"])

    def give(self, path: Path) -> None:
        """Make path (a tree) belong to this world's uid."""
        if self.uid is None:
            return
        for parent, dirnames, filenames in os.walk(path):
            os.lchown(parent, self.uid, self.uid)
            for name in dirnames + filenames:
                os.lchown(os.path.join(parent, name), self.uid, self.uid)

    def argv(self, args: Sequence[str], uid: int | None = None) -> list[str]:
        who = self.uid if uid is None else uid
        return [*as_uid(who), *args] if who is not None else list(args)

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        extra: Mapping[str, str] | None = None,
        uid: int | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Any command, in this world's environment (as its uid)."""
        cwd = cwd or self.tmp
        env = {**self.env, **(extra or {}), "PWD": str(cwd)}
        return subprocess.run(
            self.argv(args, uid), cwd=cwd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
        )

    def envr(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run(ENVR, *args, **kw)  # type: ignore[arg-type]

    def popen(self, *args: str, cwd: Path, extra: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        env = {**self.env, **(extra or {}), "PWD": str(cwd)}
        return subprocess.Popen(
            self.argv([ENVR, *args]), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def project(self, name: str, toml: str, files: Mapping[str, str] | None = None, allow: bool = True) -> Path:
        """tmp/name with envr.toml and files ({relative path: text}; a 'bin/' file is executable)."""
        root = self.tmp / name
        root.mkdir(parents=True, exist_ok=True)
        for rel, text in (files or {}).items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            if "/bin/" in f"/{rel}":
                p.chmod(0o755)
        (root / "envr.toml").write_text(toml)
        self.give(root)
        if allow:
            r = self.envr("allow", cwd=root)
            assert r.returncode == 0, r.stderr
        return root

    def registered(self) -> list[str]:
        db = self.store / ".registry.sqlite"
        if not db.exists():
            return []
        with sqlite3.connect(db) as c:
            return sorted(r[0] for r in c.execute("SELECT path FROM paths"))


@pytest.fixture
def world() -> Iterator[World]:
    with _world_dir() as tmp:
        yield World(tmp)


@pytest.fixture
def user_world() -> Iterator[World]:
    """A world owned by, and running envr as, an unprivileged uid."""
    as_uid(USER)  # skips early when this cannot work
    with _world_dir() as tmp:
        yield World(tmp, USER)


class _world_dir:
    def __enter__(self) -> Path:
        # Not under pytest's tmp dir, which is 0700: another uid must reach it.
        self.path = Path(tempfile.mkdtemp(prefix="envr-integrity-", dir="/tmp"))
        self.path.chmod(0o755)
        return self.path

    def __exit__(self, *exc: object) -> None:
        for parent, dirnames, _ in os.walk(self.path):
            for name in dirnames:
                p = os.path.join(parent, name)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
        subprocess.run(["umount", "-R", "-l", str(self.path / "store")], capture_output=True, check=False)
        shutil.rmtree(self.path, ignore_errors=True)


def _blocked() -> dict[str, set[str]]:
    """Directories (with the child needed in each) that keep other uids from this interpreter and envr."""
    needed = [os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix), os.path.realpath(ENVR)]
    needed += [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]
    out: dict[str, set[str]] = {}
    for target in needed:
        parts = Path(target).parts
        for i in range(1, len(parts) - 1):
            d = os.path.join(*parts[: i + 1])
            if not os.stat(d).st_mode & stat.S_IXOTH:
                out.setdefault(d, set()).add(parts[i + 1])
    return out


def as_uid(uid: int) -> list[str]:
    """An argv prefix running a command as uid:uid with no groups. When a parent of the interpreter is closed to
    others (pyenv under /root), the command runs in a private mount namespace where that directory is a
    traversable tmpfs holding bind mounts of just the entries needed; the host is not changed."""
    if SETPRIV is None or os.geteuid() != 0:
        pytest.skip("a second uid needs root and setpriv")
    setpriv = [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    blocked = _blocked()
    if not blocked:
        return setpriv
    if shutil.which("unshare") is None:
        pytest.skip(f"other uids cannot reach {sys.executable} and unshare is missing")
    stash = Path(tempfile.gettempdir()) / "envr-integrity-stash"  # empty mount points, reused
    lines = []
    for i, d in enumerate(sorted(blocked, key=len, reverse=True)):
        keep = stash / str(i)
        keep.mkdir(parents=True, exist_ok=True)
        lines.append(f"mount --bind {shlex.quote(d)} {shlex.quote(str(keep))}")
        lines.append(f"mount -t tmpfs -o mode=0711 envr-test {shlex.quote(d)}")
        for child in sorted(blocked[d]):
            src, dst = shlex.quote(str(keep / child)), shlex.quote(os.path.join(d, child))
            lines.append(f"if [ -d {src} ]; then mkdir {dst}; else touch {dst}; fi; mount --bind {src} {dst}")
    script = " && ".join([*lines, 'exec "$@"'])
    return ["unshare", "-m", "--propagation", "private", "--", "sh", "-c", script, "sh", *setpriv]


def wait_until(done: Callable[[], bool], limit: float = 30) -> bool:
    """Poll done() until it holds or limit seconds pass (an upper bound on waiting, not an assertion on speed)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.02)
    return done()


def alive(pid: int) -> bool:
    """Whether pid runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def read_pid(path: Path, limit: float = 30) -> int:
    assert wait_until(lambda: path.exists() and path.read_text().strip().isdigit(), limit), f"no pid in {path}"
    return int(path.read_text().strip())


def one_error_line(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A refusal: exit 1, no internal error, and exactly one line on stderr besides progress, naming needles."""
    text = r.stdout + r.stderr
    assert "internal error" not in text and "Traceback" not in text, text
    assert r.returncode == 1, (r.returncode, text)
    lines = [
        line
        for line in r.stderr.splitlines()
        if line.strip() and not line.startswith(("envr: realising", "envr: waiting"))
    ]
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def tool_files(name: str = "t1", text: str | None = None) -> dict[str, str]:
    return {f"tree/bin/{name}": f"#!/bin/sh\necho {text or name}\n"}


def tree(root: Path) -> dict[str, tuple[int, int, bytes | str | None]]:
    """Every entry under root (root included): (kind, mode, content or link target)."""
    out: dict[str, tuple[int, int, bytes | str | None]] = {}
    paths = [str(root)]
    for parent, dirnames, filenames in os.walk(root):
        paths += [os.path.join(parent, n) for n in dirnames + filenames]
    for p in paths:
        st = os.lstat(p)
        what: bytes | str | None = None
        if stat.S_ISLNK(st.st_mode):
            what = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            what = Path(p).read_bytes()
        out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), what)
    return out
