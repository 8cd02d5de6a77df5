"""D9: gc never deletes a store path a prompt is entering.

The protocol (store/gc.py): the prompt checks the markers, records its generation (a root), then checks the
markers again holding the store flock shared (flocks.valid_under_flock) and trusts only what is still marked.
gc holds the flock exclusively from before it reads the roots until it has removed the markers of what it
deletes. The first tests pin gc's side of that deterministically; the race test drives the real prompt core
(prompt/activate.py rechecks under the flock) against a real gc, many rounds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from envr.store import flocks
from integrity_helpers import USER, World, tool_files, wait_until, world

__all__ = ["world"]


def waiting_for_flock(pid: int, file: Path) -> bool:
    """Whether process pid is blocked on an flock of file (a '->' line of /proc/locks)."""
    inode = os.stat(file).st_ino
    with open("/proc/locks") as f:
        return any("->" in line and f" {pid} " in line and f":{inode} " in line for line in f)


def unrooted(world: World) -> tuple[Path, Path]:
    root = world.project("p", '[packages]\na = { path = "./tree" }\n', tool_files())
    assert world.envr("sync", cwd=root).returncode == 0
    shutil.rmtree(world.data / "envr" / "generations")  # valid, and rooted by nothing
    [path] = world.registered()
    return root, Path(path)


def test_gc_reads_the_roots_only_once_it_holds_the_store_flock(world: World) -> None:
    root, path = unrooted(world)
    with flocks.store_flock(str(world.store)):  # as a running sync holds it
        gc = world.popen("gc", cwd=world.tmp)
        assert wait_until(lambda: waiting_for_flock(gc.pid, world.store / ".gc.flock")), "gc did not wait"
        # what a prompt does meanwhile: it checks the markers and records its generation
        entered = world.envr("export", "json", cwd=root, extra={"ENVR_AUTO_SYNC": "0"})
        assert entered.returncode == 0 and str(path) in entered.stdout, entered.stderr
    _, err = gc.communicate(timeout=60)

    assert gc.returncode == 0, err
    assert "deleted 0 store paths" in err and path.is_dir()


def test_a_prompt_confirming_under_the_flock_sees_what_gc_deleted(world: World) -> None:
    _, path = unrooted(world)
    store = str(world.store)
    with flocks.store_flock(store, exclusive=True):  # gc at work
        assert flocks.valid_under_flock(store, [str(path)], blocking=False) is None
    r = world.envr("gc", cwd=world.tmp)
    assert r.returncode == 0 and "deleted 1 store path" in r.stderr
    assert flocks.valid_under_flock(store, [str(path)]) == []


def test_the_confirmation_works_where_the_store_cannot_be_written(world: World) -> None:
    """Another uid, which may read but not write the store, confirms through a read-only descriptor."""
    _, path = unrooted(world)
    code = "import sys; from envr.store import flocks; print(flocks.valid_under_flock(sys.argv[1], sys.argv[2:]))"
    r = world.run(sys.executable, "-c", code, str(world.store), str(path), uid=USER)
    assert r.returncode == 0 and r.stdout == f"[{str(path)!r}]\n", r.stderr
    assert os.stat(world.store / ".gc.flock").st_uid == os.getuid()  # nothing was created as that uid


def test_gc_racing_prompts_never_leaves_a_path_entry_into_a_deleted_store_path(world: World) -> None:
    big_env = "[env]\n" + "".join(f'V{i} = "value {i}"\n' for i in range(5000))  # a long check-to-record window
    p = world.project("P", big_env + '[packages]\na = { path = "./tree" }\n', tool_files())
    q = world.project("Q", '[packages]\na = { path = "./tree" }\n', tool_files())
    extra = {"ENVR_AUTO_SYNC": "0"}
    broken = []
    for round_ in range(30):
        assert world.envr("sync", cwd=q).returncode == 0  # realised again ...
        shutil.rmtree(world.data / "envr" / "generations", ignore_errors=True)  # ... and rooted by nothing
        enters = [world.popen("export", "json", cwd=p, extra=extra) for _ in range(3)]
        gc = world.popen("gc", cwd=world.tmp)
        gc.communicate(timeout=120)
        for enter in enters:
            out, err = enter.communicate(timeout=120)
            assert "internal error" not in err
            path = (json.loads(out) if out.strip() else {}).get("PATH") or ""
            dead = [e for e in path.split(":") if e.startswith(str(world.store)) and not os.path.isdir(e)]
            if dead:
                broken.append(f"round {round_}: {dead}")
    assert broken == [], broken


def test_gc_does_not_block_on_a_waiting_prompt_forever(world: World) -> None:
    """The prompt's confirmation may be non-blocking: while gc holds the flock it returns None at once."""
    _, path = unrooted(world)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); "
            "print('held', flush=True); sys.stdin.read()",
            str(world.store / ".gc.flock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert flocks.valid_under_flock(str(world.store), [str(path)], blocking=False) is None
    finally:
        holder.communicate("", timeout=30)
    assert flocks.valid_under_flock(str(world.store), [str(path)], blocking=False) == [str(path)]
