"""D3: gc deletes only what envr made, never collects a store whose registry is lost or damaged, and its
--dry-run lists exactly what the real run deletes. `envr store repair` brings a lost registry back."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from integrity_helpers import World, one_error_line, read_pid, tool_files, tree, wait_until, world

__all__ = ["world"]

FOREIGN = {
    "Documents/taxes.pdf": "precious\n",
    "notes.txt": "do not delete\n",
    "a-b-c/x": "dashes, like a store path\n",
    "UPPER-Tool-1.0/bin/x": "#!/bin/sh\n",
    "0123456789abcdef0123456789abcdef": "32 hex and nothing more\n",
    "0123456789abcdef0123456789abcdeg-x-1/f": "not hex\n",
    ".tmp-notes": "a dot-file that is not envr's work\n",
    ".trash-can/f": "nor this\n",
}


def plant(where: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = where / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def synced(world: World, name: str = "r", tool: str = "t1") -> tuple[Path, Path]:
    root = world.project(name, '[env]\nX = "1"\n[packages]\na = { path = "./tree" }\n', tool_files(tool))
    r = world.envr("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    [path] = [p for p in world.registered() if p.endswith("-a-local") and Path(p, ".envr", "bin", tool).exists()]
    return root, Path(path)


def corrupt(store: Path, how: str) -> None:
    reg = store / ".registry.sqlite"
    if how == "deleted":
        reg.unlink()
    elif how == "truncated":
        reg.write_bytes(reg.read_bytes()[:1000])
    elif how == "garbage":
        reg.write_bytes(os.urandom(8192))
    elif how == "empty":
        reg.write_bytes(b"")


def test_foreign_entries_survive_gc_and_are_reported_once(world: World) -> None:
    root, path = synced(world)
    plant(world.store, FOREIGN)
    before = tree(world.store)
    shutil.rmtree(world.data / "envr" / "generations")  # nothing roots the store path now

    dry = world.envr("gc", "--dry-run", cwd=root)
    real = world.envr("gc", cwd=root)

    assert dry.returncode == real.returncode == 0, real.stderr
    after = tree(world.store)
    for rel in FOREIGN:
        assert after[rel] == before[rel], rel
    assert not path.exists()
    [line] = [x for x in real.stderr.splitlines() if "not envr's" in x]
    assert f"left {len({r.split('/')[0] for r in FOREIGN})} entries in {world.store} alone" in line
    for top in {r.split("/")[0] for r in FOREIGN}:
        assert top in line
    assert dry.stdout.split() == [str(path)]


def test_a_store_pointed_at_home_is_not_touched(world: World) -> None:
    home = Path(world.env["HOME"])
    plant(home, {"Documents/taxes.pdf": "precious\n", ".bashrc": "# rc\n", "src/x.c": "int x;\n"})
    before = tree(home)

    for args in (("gc", "--dry-run"), ("gc",), ("store", "verify"), ("store", "ls")):
        r = world.envr(*args, extra={"ENVR_STORE": str(home)})
        assert r.returncode == 0 and "internal error" not in r.stderr, (args, r.stderr)

    assert tree(home) == before  # not even a flock file was created


@pytest.mark.parametrize("how", ["deleted", "truncated", "garbage", "empty"])
def test_a_store_without_a_readable_registry_is_never_collected(world: World, how: str) -> None:
    root, path = synced(world)
    shutil.rmtree(world.data / "envr" / "generations")
    corrupt(world.store, how)
    before = tree(world.store)

    for args in (("gc",), ("gc", "--dry-run"), ("store", "verify"), ("store", "ls")):
        r = world.envr(*args, cwd=root)
        line = one_error_line(r, "envr store repair")
        assert str(world.store / ".registry.sqlite") in line

    assert tree(world.store) == before
    changes = world.envr("export", "json", cwd=root, extra={"ENVR_AUTO_SYNC": "0"})
    assert changes.returncode == 0 and str(path) in changes.stdout  # the prompt still loads from the markers


@pytest.mark.parametrize("how", ["deleted", "truncated", "garbage", "empty"])
def test_repair_re_registers_the_intact_paths_and_nothing_else(world: World, how: str) -> None:
    root, path = synced(world)
    other_root, tampered = synced(world, "other", "t2")
    plant(world.store, FOREIGN)
    foreign_before = {rel: tree(world.store)[rel] for rel in FOREIGN}
    bin_file = tampered / "tree" if (tampered / "tree").exists() else tampered / "bin" / "t2"
    bin_file.chmod(0o755)
    bin_file.write_text("#!/bin/sh\necho tampered\n")
    corrupt(world.store, how)

    r = world.envr("store", "repair", cwd=root)

    assert r.returncode == 0, r.stderr
    assert f"{tampered}: not registered: corrupted" in r.stdout
    assert "re-registered 1 store path" in r.stderr
    assert world.registered() == [str(path)]
    assert (world.store / ".valid" / path.name).exists() and not (world.store / ".valid" / tampered.name).exists()
    assert world.envr("store", "verify", cwd=root).returncode == 0
    ran = world.envr("exec", str(root), "--", "t1", cwd=root)
    assert (ran.returncode, ran.stdout) == (0, "t1\n"), ran.stderr
    again = world.envr("exec", str(other_root), "--", "t2", cwd=other_root)  # rebuilt, not the tampered copy
    assert (again.returncode, again.stdout) == (0, "t2\n"), again.stderr
    assert world.envr("gc", cwd=root).returncode == 0
    assert {rel: tree(world.store)[rel] for rel in FOREIGN} == foreign_before


def test_repair_refuses_a_renamed_path_and_one_without_a_record(world: World) -> None:
    root, path = synced(world)
    renamed = world.store / ("f" * 32 + path.name[32:])
    shutil.copytree(path, renamed, symlinks=True)
    bare = world.store / ("e" * 32 + "-bare-1")
    (bare / "bin").mkdir(parents=True)
    corrupt(world.store, "deleted")

    r = world.envr("store", "repair", cwd=root)

    assert r.returncode == 0, r.stderr
    assert f"{renamed}: not registered: its .envr/info names" in r.stdout
    assert f"{bare}: not registered: no record of its content" in r.stdout
    assert world.registered() == [str(path)]


def test_repair_does_not_register_a_killed_build(world: World) -> None:
    synced(world)
    started = world.tmp / "started"
    slow = world.project(
        "slow",
        f'[packages]\nb = {{ path = "./src", build = "mkdir -p \\"$out/bin\\"; touch {started}; sleep 60" }}\n',
        {"src/f": "x\n"},
    )
    sync = world.popen("sync", cwd=slow)
    try:
        assert wait_until(started.exists), "the build never started"
    finally:
        sync.send_signal(signal.SIGKILL)
        sync.communicate()
    corrupt(world.store, "deleted")

    r = world.envr("store", "repair", cwd=slow)

    assert r.returncode == 0, r.stderr
    assert [p for p in world.registered() if p.endswith("-b-local")] == []
    assert "-b-local: not registered" in r.stdout


def test_dry_run_lists_exactly_what_the_real_run_deletes(world: World) -> None:
    gone, gone_path = synced(world, "gone", "g1")
    shutil.rmtree(gone)  # its generations are dropped by the real run first: its path goes too
    kept, kept_path = synced(world, "kept", "k1")
    pid_file, started = world.tmp / "pid", world.tmp / "started"
    slow = world.project(
        "slow",
        f'[packages]\nb = {{ path = "./src", build = "echo $$ > {pid_file}; mkdir -p \\"$out/bin\\"; '
        f'touch {started}; sleep 60" }}\n',
        {"src/f": "x\n"},
    )
    sync = world.popen("sync", cwd=slow)
    try:
        assert wait_until(started.exists)
    finally:
        sync.send_signal(signal.SIGKILL)
        sync.communicate()
    build = read_pid(pid_file)
    (world.store / f".trash-{'c' * 32}-x-1-12345").mkdir()  # a gc killed while deleting
    os.symlink("nowhere", world.store / f".tmp-{'d' * 32}-y-1-777")  # interrupted unpacking
    stale = world.store / ".valid" / f"{'a' * 32}-stale-1"
    stale.touch()  # a marker whose path is gone
    plant(world.store, {"notes.txt": "mine\n"})
    before = set(os.listdir(world.store)) | {f".valid/{n}" for n in os.listdir(world.store / ".valid")}

    dry = world.envr("gc", "--dry-run", cwd=kept)
    assert before == set(os.listdir(world.store)) | {f".valid/{n}" for n in os.listdir(world.store / ".valid")}
    real = world.envr("gc", cwd=kept)

    assert dry.returncode == real.returncode == 0, real.stderr
    after = set(os.listdir(world.store)) | {f".valid/{n}" for n in os.listdir(world.store / ".valid")}
    deleted = before - after
    assert gone_path.name in deleted and kept_path.name not in deleted and "notes.txt" not in deleted
    listed = {os.path.relpath(line, world.store) for line in dry.stdout.split()}
    markers_of_listed = {f".valid/{n}" for n in listed}  # a listed path takes its marker along
    assert listed == deleted - markers_of_listed
    assert not any((world.store / ".valid" / n).exists() for n in (gone_path.name, stale.name)), (
        "markers of deleted or gone paths must go"
    )
    assert not os.path.exists(f"/proc/{build}/cmdline") or "sleep" not in Path(f"/proc/{build}/cmdline").read_text()
    counts = dry.stderr.splitlines()[-1].replace("would delete", "deleted")
    assert counts == real.stderr.splitlines()[-1], (dry.stderr, real.stderr)
    assert world.envr("store", "verify", cwd=kept).returncode == 0
