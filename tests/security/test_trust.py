"""Trust: nothing of an unallowed project runs (D5); what is approved is what is used, the lock included
(D6: a lock swapped after the check; D7: a lock that is a device, fifo or symlink; D27: a project file or path
package that is a symlink out of the repository); approvals another uid could write are not trusted (D18).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shellkit import Session

from .helpers import (
    ATTACKER_UID,
    ENVR,
    World,
    as_uid,
    assert_no_internal_error,
    assert_one_line_error,
    chown_tree,
    error_lines,
    sha256_of,
    store_entries,
)

# --- D5: lock, lock --upgrade, add, remove on an unallowed clone --------------------------------------------


def evil_sdist(world: World, marker: Path, form: str) -> str:
    """A pypi requirement whose build backend writes marker (and then fails), as D5's script builds it."""
    src = world.tmp / "evil-1.0"
    src.mkdir(exist_ok=True)
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (src / "backend.py").write_text(f"open({str(marker)!r}, 'a').write('ran\\n')\nraise SystemExit(1)\n")
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    if form == "source-dir":
        return f"evil @ {src.as_uri()}"
    archive = world.tmp / "evil-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(src, arcname="evil-1.0")
    return f"evil @ {archive.as_uri()}"


def evil_clone(world: World, form: str = "sdist-table") -> tuple[Path, Path]:
    marker = world.tmp / "PWNED-before-allow"
    req = evil_sdist(world, marker, "source-dir" if form == "source-dir" else "sdist")
    clone = world.tmp / "clone"
    (clone / "tools").mkdir(parents=True)
    (clone / "tools" / "f").write_text("x\n")
    entry = f'"pypi:{req}"' if form == "shorthand" else f'{{ pypi = "{req}" }}'
    (clone / "envr.toml").write_text(f'[packages]\nevil = {entry}\nother = {{ path = "./tools" }}\n')
    return clone, marker


COMMANDS = {
    "lock": ["lock"],
    "lock-upgrade": ["lock", "--upgrade"],
    "lock-upgrade-name": ["lock", "--upgrade", "evil"],
    "add": ["add", "pypi:nothing-resolves-here==1.0"],
    "remove": ["remove", "other"],
}


def assert_refused_naming_allow(r: subprocess.CompletedProcess[str]) -> None:
    line = assert_one_line_error(r)
    assert "envr allow" in line or "--trust" in line, line


@pytest.mark.parametrize("command", list(COMMANDS))
def test_nothing_of_an_unallowed_clone_runs(world: World, command: str) -> None:
    clone, marker = evil_clone(world)
    toml = (clone / "envr.toml").read_bytes()

    r = world.envr(*COMMANDS[command], cwd=clone, timeout=120)

    assert not marker.exists(), f"`envr {' '.join(COMMANDS[command])}` ran the build backend before `envr allow`"
    assert_refused_naming_allow(r)
    assert (clone / "envr.toml").read_bytes() == toml and not (clone / "envr.lock").exists()


@pytest.mark.parametrize("form", ["shorthand", "source-dir"])
def test_lock_of_an_unallowed_clone_runs_nothing_whatever_the_entry_form(world: World, form: str) -> None:
    clone, marker = evil_clone(world, form)

    r = world.envr("lock", "--project", str(clone), cwd=world.tmp, timeout=120)

    assert not marker.exists()
    assert_refused_naming_allow(r)


@pytest.mark.parametrize("command", ["lock", "add", "remove"])
def test_a_pulled_change_is_not_run_by_lock_add_or_remove(world: World, command: str) -> None:
    """Allowed once; a `git pull` then adds the evil entry: the file is changed since allowed."""
    clone, marker = evil_clone(world)
    pulled = (clone / "envr.toml").read_text()
    (clone / "envr.toml").write_text('[packages]\nother = { path = "./tools" }\n')
    world.allow(clone)
    (clone / "envr.toml").write_text(pulled)

    r = world.envr(*COMMANDS[command], cwd=clone, timeout=120)

    assert not marker.exists()
    assert_refused_naming_allow(r)


def test_a_denied_project_is_not_run_by_lock(world: World) -> None:
    clone, marker = evil_clone(world)
    assert world.envr("deny", str(clone), cwd=clone).returncode == 0

    r = world.envr("lock", cwd=clone, timeout=120)

    assert not marker.exists()
    assert_refused_naming_allow(r)


def test_after_allow_lock_does_resolve_so_the_refusals_above_are_real(world: World) -> None:
    """The control: the same clone, allowed, reaches the build backend (so its marker is a working probe)."""
    clone, marker = evil_clone(world)
    world.allow(clone)

    r = world.envr("lock", cwd=clone, timeout=120)

    assert_no_internal_error(r)
    assert marker.exists(), r.stderr


# --- D6: the lock read again after the approval check -------------------------------------------------------

INI_LOCK_A = """version = 1
packages_hash = "sha256:e5fa817fff86ccb7e02690e4c4e1f75c8bab970c863a1c0b8a201ce4343c1337"

[packages.ini]
kind = "pypi"
entry = "\\"pypi:iniconfig==2.3.0\\""
version = "2.3.0"
python = "3.11"
requirements = [
    "iniconfig==2.3.0",
]
hashes = [
    "iniconfig==2.3.0 sha256:f631c04d2c48c52b84d0d0549c99ff3859c98df65b3101406327ecc7d53fbf12",
]
"""


@contextlib.contextmanager
def flipping(lock: Path, a: str, b: str) -> Iterator[None]:
    """Swap lock between contents a and b (write a temp file, rename over) until the block ends."""
    stop = threading.Event()

    def flip() -> None:
        tmp = lock.with_name("l.tmp")
        while not stop.is_set():
            for text in (b, a):
                tmp.write_text(text)
                os.replace(tmp, lock)
                stop.wait(0.002)  # a few hundred swaps a second, without taking a whole CPU

    t = threading.Thread(target=flip, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        lock.write_text(a)


def test_a_swapped_lock_never_names_the_prompts_packages(world: World) -> None:
    """D6's own script: lock A approved, B (an unreviewed resolution, 6.6.6) swapped in and out."""
    world.env["ENVR_AUTO_SYNC"] = "0"
    root = world.project("p", '[packages]\nini = "pypi:iniconfig==2.3.0"\n')
    (root / "envr.lock").write_text(INI_LOCK_A)
    world.allow(root)
    b = INI_LOCK_A.replace('version = "2.3.0"', 'version = "6.6.6"')

    used_b = 0
    with flipping(root / "envr.lock", INI_LOCK_A, b):
        for _ in range(100):
            r = world.envr("export", "bash", cwd=root, timeout=30)
            used_b += "-ini-6.6.6" in r.stdout + r.stderr
    assert used_b == 0, f"{used_b} of 100 prompts computed packages from the unapproved lock"


def url_tool_project(world: World) -> tuple[Path, str, str]:
    """A project with one url tool and two locks of it: A (from `envr lock`) and B (A naming version 666)."""
    tool = world.tmp / "served" / "tool"
    tool.parent.mkdir(parents=True, exist_ok=True)
    tool.write_text("#!/bin/sh\necho tool\n")
    root = world.project(
        "p", f'[packages]\nt = {{ url = "{tool.as_uri()}", sha256 = "{sha256_of(tool.read_bytes())}" }}\n'
    )
    r = world.envr("lock", "--trust", cwd=root)
    assert r.returncode == 0, r.stderr
    a = (root / "envr.lock").read_text()
    b = a.replace('kind = "url"', 'kind = "url"\nversion = "666"')
    assert a != b
    return root, a, b


def test_a_swapped_lock_never_puts_an_unapproved_store_path_on_path(world: World) -> None:
    """Both locks' store paths are realised, so the one the prompt picks shows on PATH in `export json`."""
    root, a, b = url_tool_project(world)
    (root / "envr.lock").write_text(b)
    world.allow(root)
    assert world.envr("sync", cwd=root).returncode == 0
    (root / "envr.lock").write_text(a)
    world.allow(root)
    assert world.envr("sync", cwd=root).returncode == 0
    assert any(p.name.endswith("-t-666") for p in store_entries(world.store)), "B's store path must exist"
    world.env["ENVR_AUTO_SYNC"] = "0"

    used_b = 0
    with flipping(root / "envr.lock", a, b):
        for _ in range(100):
            r = world.envr("export", "json", cwd=root, timeout=30)
            assert_no_internal_error(r)
            used_b += "-t-666" in r.stdout + r.stderr
    assert used_b == 0, f"{used_b} of 100 prompts put the unapproved lock's store path on PATH"


def test_sync_never_realises_an_unapproved_lock_swapped_in(world: World) -> None:
    root, a, b = url_tool_project(world)
    world.allow(root)

    outputs = []
    with flipping(root / "envr.lock", a, b):
        for _ in range(15):
            r = world.envr("sync", cwd=root, timeout=60)
            assert_no_internal_error(r)
            outputs.append(r.stdout + r.stderr)
    assert not any(p.name.endswith("-t-666") for p in store_entries(world.store))
    assert not any("-t-666" in o for o in outputs)


# --- D7: envr.lock that is not a regular file inside the project --------------------------------------------


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def capped(world: World, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    """envr under a 1 GiB address-space cap and a 20 s deadline; None if it did not finish (a hang)."""
    try:
        return subprocess.run(
            [ENVR, *args],
            cwd=cwd,
            env={**world.env, "PWD": str(cwd)},
            capture_output=True,
            text=True,
            errors="replace",
            timeout=20,
            preexec_fn=cap_memory,
        )
    except subprocess.TimeoutExpired:
        return None


def run_capped(world: World, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    r = capped(world, args, cwd)
    if r is None:
        pytest.fail(f"`envr {' '.join(args)}` did not finish within 20 s (envr.lock read blocks)")
    return r


@contextlib.contextmanager
def lock_kind(root: Path, kind: str) -> Iterator[None]:
    lock = root / "envr.lock"
    if kind == "dev-zero":
        lock.symlink_to("/dev/zero")
        yield
    elif kind == "fifo":
        os.mkfifo(lock)
        yield
    elif kind == "tty-like":
        master, slave = os.openpty()  # a terminal nobody types into: a read blocks like /dev/tty's
        try:
            lock.symlink_to(os.ttyname(slave))
            yield
        finally:
            os.close(master)
            os.close(slave)
    elif kind == "symlink-outside":
        outside = root.parent / "outside-lock"
        outside.write_text('version = 1\npackages_hash = "sha256:0"\n')
        lock.symlink_to(outside)
        yield
    elif kind == "directory":
        lock.mkdir()
        yield
    else:
        raise ValueError(kind)


@pytest.mark.parametrize("kind", ["dev-zero", "symlink-outside", "directory"])
def test_allow_refuses_a_lock_that_is_not_a_regular_file_in_the_project(world: World, kind: str) -> None:
    root = world.project("clone", '[env]\nX = "1"\n')
    with lock_kind(root, kind):
        r = run_capped(world, ["allow", str(root)], root)
        assert_one_line_error(r, "envr.lock")


def entered_quietly(r: subprocess.CompletedProcess[str]) -> str | None:
    """None if the prompt's view of the untrusted clone is fine: no internal error, at most one line, no X."""
    try:
        assert_no_internal_error(r)
    except AssertionError as e:
        return str(e)
    if len(error_lines(r.stderr)) > 1:
        return f"more than one line: {r.stderr!r}"
    if '"X"' in r.stdout or "X=" in r.stdout:
        return "the untrusted clone's variables were exported"
    return None


@pytest.mark.parametrize("command", [["export", "json"], ["export", "bash"], ["status"], ["lock", "--check"]])
def test_entering_an_untrusted_clone_whose_lock_is_dev_zero_ends_cleanly(world: World, command: list[str]) -> None:
    root = world.project("clone", '[env]\nX = "1"\n')
    with lock_kind(root, "dev-zero"):
        r = run_capped(world, command, root)
    assert entered_quietly(r) is None, entered_quietly(r)


# A lock that blocks a reader (a fifo nobody writes, a terminal nobody types into): every case that hangs costs
# the whole 20 s deadline, so they run side by side in one test and report together.
BLOCKING_CASES = [
    ("fifo", ["allow", "."]),
    ("tty-like", ["allow", "."]),
    ("fifo", ["export", "json"]),
    ("fifo", ["lock", "--check"]),
    ("tty-like", ["export", "bash"]),
    ("tty-like", ["status"]),
]


def test_a_lock_that_blocks_its_reader_never_hangs_envr(world: World) -> None:
    def case(i: int) -> str | None:
        kind, command = BLOCKING_CASES[i]
        what = f"{kind}: envr {' '.join(command)}"
        root = world.project(f"clone{i}", '[env]\nX = "1"\n')
        with lock_kind(root, kind):
            r = capped(world, command, root)
        if r is None:
            return f"{what}: did not finish within 20 s"
        if command[0] == "allow":
            try:
                assert_one_line_error(r, "envr.lock")
            except AssertionError as e:
                return f"{what}: {e}"
            return None
        problem = entered_quietly(r)
        return f"{what}: {problem}" if problem else None

    with ThreadPoolExecutor(max_workers=len(BLOCKING_CASES)) as pool:
        problems = [p for p in pool.map(case, range(len(BLOCKING_CASES))) if p]
    assert problems == [], problems


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_tty_lock_does_not_swallow_what_the_user_types(tmp_path: Path, shell: str) -> None:
    """B22: `envr.lock -> /dev/tty`; cd into the clone from a hooked shell: the prompt comes back, typed
    commands run."""
    session = Session(shell, tmp_path)
    try:
        sh = session.shell()
        clone = session.work / "clone"
        clone.mkdir()
        (clone / "envr.toml").write_text('[env]\nX = "1"\n')
        (clone / "envr.lock").symlink_to("/dev/tty")
        sh.cd(clone)
        res = sh.run("echo alive")
        assert res.out == "alive\n", res
    finally:
        session.close()


# --- D27: a project file or path package that is a symlink out of the repository ----------------------------


def outside_dir(world: World) -> Path:
    out = world.tmp / "outside"
    (out / "sub").mkdir(parents=True, exist_ok=True)
    (out / "private.conf").write_text("not the project's\n")
    (out / "sub" / "private.conf").write_text("not the project's either\n")
    return out


def store_holds(world: World, needle: bytes) -> list[str]:
    hits = []
    for sp in store_entries(world.store):
        for p in sp.rglob("*"):
            if p.is_file() and not p.is_symlink() and needle in p.read_bytes():
                hits.append(str(p))
    return hits


@pytest.mark.parametrize("layout", ["nested-link", "top-link", "relative-link", "through-a-linked-dir", "file-link"])
def test_a_path_package_that_is_a_symlink_out_of_the_repository_is_refused(world: World, layout: str) -> None:
    out = outside_dir(world)
    clone = world.tmp / "clone"
    (clone / "tools").mkdir(parents=True)
    if layout == "nested-link":
        (clone / "tools" / "etc").symlink_to(out)
        path = "./tools/etc"
    elif layout == "top-link":
        (clone / "ext").symlink_to(out)
        path = "./ext"
    elif layout == "relative-link":
        (clone / "tools" / "etc").symlink_to("../../outside")
        path = "./tools/etc"
    elif layout == "through-a-linked-dir":
        (clone / "vendor").symlink_to(out)
        path = "./vendor/sub"
    else:
        (clone / "tools" / "conf").symlink_to(out / "private.conf")
        path = "./tools/conf"
    (clone / "envr.toml").write_text(f'[env]\nX = "1"\n[packages]\nu = {{ path = "{path}" }}\n')

    allow = world.envr("allow", str(clone), cwd=clone)
    assert_no_internal_error(allow)
    refusal = allow if allow.returncode != 0 else world.envr("sync", cwd=clone)
    line = assert_one_line_error(refusal)
    assert "packages.u" in line or path.removeprefix("./") in line, f"neither the package nor {path} named: {line}"
    assert store_holds(world, b"not the project's") == []


def test_a_path_package_with_an_inner_symlink_still_works(world: World) -> None:
    """Symlinks inside the tree are copied as links (that held); the refusal above must not take them away."""
    clone = world.tmp / "clone"
    (clone / "tools" / "bin").mkdir(parents=True)
    (clone / "tools" / "bin" / "real").write_text("#!/bin/sh\necho real\n")
    (clone / "tools" / "bin" / "real").chmod(0o755)
    (clone / "tools" / "bin" / "alias").symlink_to("real")
    (clone / "envr.toml").write_text('[packages]\nu = { path = "./tools" }\n')
    world.allow(clone)

    r = world.envr("exec", str(clone), "--", "alias", cwd=clone)

    assert (r.returncode, r.stdout) == (0, "real\n"), r.stderr


@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_a_project_file_that_is_a_symlink_out_of_the_repository_is_refused(world: World, how: str) -> None:
    out = world.tmp / "outside"
    out.mkdir()
    (out / "envr.toml").write_text('[env]\nFROM_OUTSIDE = "yes"\n')
    clone = world.tmp / "clone"
    clone.mkdir()
    (clone / "envr.toml").symlink_to(out / "envr.toml" if how == "absolute" else Path("../outside/envr.toml"))

    allow = world.envr("allow", str(clone), cwd=clone)
    changes, _ = world.export_json(clone)

    assert_one_line_error(allow, "envr.toml")
    assert "FROM_OUTSIDE" not in changes


# --- D18: approvals another uid could have written ----------------------------------------------------------


def forged_project(world: World) -> Path:
    root = world.project("q", '[env]\nFORGED = "yes"\n')
    return root


def forge_as_attacker(world: World, root: Path, replace_dir: bool = False) -> None:
    """The attacker approves the victim's project in a data dir of its own (`envr allow`, black-box) and
    copies the record into the victim's approvals dir, as its own uid; with replace_dir, it first moves the
    victim's approvals dir aside and makes its own (possible when the parent is world-writable)."""
    mine = world.tmp / "attacker"
    for d in ("home", "data", "cache", "state"):
        (mine / d).mkdir(parents=True, exist_ok=True)
    chown_tree(mine, ATTACKER_UID)
    env = {
        **world.env,
        "HOME": str(mine / "home"),
        "XDG_DATA_HOME": str(mine / "data"),
        "XDG_CACHE_HOME": str(mine / "cache"),
        "XDG_STATE_HOME": str(mine / "state"),
        "PWD": str(root),
    }
    r = subprocess.run(
        [*as_uid(ATTACKER_UID), ENVR, "allow", str(root)], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    [record] = list((mine / "data" / "envr" / "allow").iterdir())
    target = world.allow_dir
    script = f"mv {target} {target}.old 2>/dev/null; mkdir -p {target}; " if replace_dir else ""
    script += f"cp {record} {target}/{record.name}"
    done = subprocess.run([*as_uid(ATTACKER_UID), "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert (target / record.name).stat().st_uid == ATTACKER_UID, "the forgery must exist"


def assert_not_trusted(world: World, root: Path) -> None:
    r = world.envr("export", "json", cwd=root)
    assert_no_internal_error(r)
    changes = json.loads(r.stdout) if r.stdout.strip() else {}
    assert "FORGED" not in changes, "a record another uid could write was trusted"
    assert len(error_lines(r.stderr)) == 1, r.stderr


def test_an_approval_written_by_another_uid_into_a_world_writable_dir_is_not_trusted(user_world: World) -> None:
    world = user_world
    root = forged_project(world)
    world.allow_dir.mkdir(parents=True)
    chown_tree(world.data, world.uid or 0)
    world.allow_dir.chmod(0o777)

    forge_as_attacker(world, root)

    assert_not_trusted(world, root)


def test_an_approvals_dir_replaced_through_a_world_writable_parent_is_not_trusted(user_world: World) -> None:
    world = user_world
    root = forged_project(world)
    world.allow(world.project("own", '[env]\nOWN = "1"\n'))  # the victim's approvals dir, made by envr
    (world.data / "envr").chmod(0o777)  # ... under a world-writable parent: it can be swapped

    forge_as_attacker(world, root, replace_dir=True)
    assert world.allow_dir.stat().st_uid == ATTACKER_UID

    assert_not_trusted(world, root)


@pytest.mark.parametrize("tamper", ["owned-by-another-uid", "group-and-world-writable"])
def test_an_approval_record_not_safely_owned_is_not_trusted(user_world: World, tamper: str) -> None:
    world = user_world
    root = forged_project(world)
    world.allow(root)
    [record] = list(world.allow_dir.iterdir())
    if tamper == "owned-by-another-uid":
        os.chown(record, ATTACKER_UID, ATTACKER_UID)
        record.chmod(0o644)
    else:
        record.chmod(0o666)

    assert_not_trusted(world, root)


def test_the_users_own_approval_is_trusted(user_world: World) -> None:
    """The control for the D18 cases: a record the user wrote in the dir envr made loads."""
    world = user_world
    root = forged_project(world)
    world.allow(root)

    changes, _ = world.export_json(root)

    assert changes.get("FORGED") == "yes"
