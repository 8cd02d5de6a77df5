"""envr gc: what no root reaches goes, what a root (or a root's reference, or a running sync) needs stays."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from envr.history import generations
from envr.store import looks_valid, registry
from gc_helpers import ENVR, fake_path, fake_paths, ok, run_envr, store_names, write_project


def _root(project_dir: Path, paths: dict[str, str]) -> None:
    """Record a generation of a (fake) project holding paths."""
    project_dir.mkdir(parents=True, exist_ok=True)
    file = project_dir / "envr.toml"
    file.touch()
    bins = [os.path.join(p, ".envr", "bin") for p in paths.values()]
    generations.record(str(file), generations.generation_content({}, [], [], bins, list(paths), {}))


def test_gc_keeps_rooted_and_referenced_paths_and_deletes_the_rest(isolated: Path) -> None:
    store = isolated / "store"
    dep = fake_path(store, "dep")
    top = fake_path(store, "top", refs=(dep,))
    loose = fake_path(store, "loose", files=3, size=1000)
    loose_dep = fake_path(store, "loosedep")
    loose_top = fake_path(store, "loosetop", refs=(loose_dep,))
    _root(isolated / "proj", {"top": top})

    dry = ok("gc", "--dry-run", cwd=isolated)
    assert sorted(dry.stdout.split()) == sorted([loose, loose_dep, loose_top])
    assert len(store_names(store)) == 5  # a dry run deletes nothing

    r = ok("gc", cwd=isolated)
    assert "deleted 3 store paths" in r.stderr and "2 kept" in r.stderr
    assert store_names(store) == {os.path.basename(top), os.path.basename(dep)}
    assert registry.valid(str(store), [top, dep, loose]) == {top, dep}
    assert not looks_valid(loose)
    ok("store", "verify", cwd=isolated)
    assert "deleted 0 store paths" in ok("gc", cwd=isolated).stderr


def test_every_kept_generation_and_the_profile_are_roots_and_deleting_a_generation_frees_its_paths(
    isolated: Path,
) -> None:
    store = isolated / "store"
    old, new = fake_path(store, "tool"), fake_path(store, "tool")
    _root(isolated / "proj", {"tool": old})
    _root(isolated / "proj", {"tool": new})
    assert "deleted 0" in ok("gc", cwd=isolated).stderr
    gdir = generations.project_dir(str(isolated / "proj" / "envr.toml"))
    os.unlink(os.path.join(gdir, "1.gen"))
    r = ok("gc", cwd=isolated)
    assert "deleted 1 store path" in r.stderr
    assert store_names(store) == {os.path.basename(new)}


def test_a_deleted_project_directory_loses_its_roots(isolated: Path) -> None:
    store = isolated / "store"
    gone, kept = fake_path(store, "gone"), fake_path(store, "kept")
    _root(isolated / "gone-proj", {"gone": gone})
    _root(isolated / "kept-proj", {"kept": kept})
    shutil.rmtree(isolated / "gone-proj")
    r = ok("gc", cwd=isolated)
    assert "dropped the generations of" in r.stderr and "gone-proj" in r.stderr
    assert store_names(store) == {os.path.basename(kept)}


def test_prune_says_which_projects_generations_it_dropped(isolated: Path) -> None:
    _root(isolated / "a", {})
    _root(isolated / "b", {})
    shutil.rmtree(isolated / "a")
    r = ok("prune", cwd=isolated)
    assert f"dropped generations of {isolated / 'a' / 'envr.toml'}" in r.stdout
    assert "b" not in r.stdout.replace(str(isolated), "")
    assert len(generations.all_projects()) == 1


def test_older_than_drops_old_generations_first_but_never_the_current_one(isolated: Path) -> None:
    store = isolated / "store"
    a, b = fake_path(store, "tool"), fake_path(store, "tool")
    _root(isolated / "proj", {"tool": a})
    _root(isolated / "proj", {"tool": b})
    gdir = generations.project_dir(str(isolated / "proj" / "envr.toml"))
    for n in (1, 2):  # both recorded 60 days ago
        f = Path(gdir, f"{n}.gen")
        lines = f.read_text().splitlines()
        f.write_text("\n".join([f"time\t{time.time() - 60 * 86400}", *lines[1:]]) + "\n")
    r = ok("gc", "--older-than", "30d", cwd=isolated)
    assert "dropped 1 generation older than 30d" in r.stderr
    assert generations.numbers(gdir) == [2]
    assert store_names(store) == {os.path.basename(b)}
    bad = run_envr("gc", "--older-than", "soon", cwd=isolated)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "invalid age" in bad.stderr


def test_a_temporary_root_of_a_running_process_is_kept(isolated: Path) -> None:
    from envr.store import roots

    store = isolated / "store"
    held = fake_path(store, "held")
    with roots.hold(str(store), [held]):
        ok("gc", cwd=isolated)
        assert looks_valid(held)
    ok("gc", cwd=isolated)
    assert not looks_valid(held)


def test_gc_waits_for_a_running_sync_and_keeps_what_it_registered(isolated: Path) -> None:
    project = isolated / "proj"
    write_project(project, "1", allow=False)
    flag = isolated / "building"
    build = f"touch {flag}; sleep 2; mkdir -p $out/bin; cp tool $out/bin/tool"
    (project / "envr.toml").write_text(f'version = 1\n[packages]\ntool = {{ path = "./tool", build = "{build}" }}\n')
    ok("allow", cwd=project)
    env = dict(os.environ, PWD=str(project))
    sync = subprocess.Popen([ENVR, "sync"], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flag.exists(), "the build never started"
        started = time.monotonic()
        r = ok("gc", cwd=isolated)
        waited = time.monotonic() - started
        assert sync.wait(timeout=60) == 0
    finally:
        sync.kill()
    assert waited > 0.5  # gc could not start while the build ran (not a timing assertion on speed)
    assert "deleted 0 store paths" in r.stderr
    path = ok("store", "path", "tool", cwd=project).stdout.strip()
    assert looks_valid(path)
    assert "deleted 0 store paths" in ok("gc", cwd=isolated).stderr  # rooted by the generation sync recorded
    assert subprocess.run([os.path.join(path, ".envr", "bin", "tool")], capture_output=True, text=True).stdout == (
        "tool 1\n"
    )
    ok("store", "verify", cwd=isolated)


def test_gc_killed_halfway_leaves_a_consistent_store(isolated: Path) -> None:
    store = isolated / "store"
    paths = fake_paths(store, 150, files=4)
    kept = fake_path(store, "kept")
    _root(isolated / "proj", {"kept": kept})
    env = dict(os.environ, PWD=str(isolated))
    gc = subprocess.Popen([ENVR, "gc"], cwd=isolated, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and gc.poll() is None:
        if any(n.startswith(".trash-") for n in os.listdir(store)) or len(store_names(store)) < 151:
            break
    gc.send_signal(signal.SIGKILL)
    gc.wait(timeout=10)
    valid = registry.valid(str(store), [*paths, kept])
    assert kept in valid
    for p in valid:  # whatever is still registered is whole
        assert os.path.isdir(p)
    ok("store", "verify", cwd=isolated)
    ok("gc", cwd=isolated)
    assert store_names(store) == {os.path.basename(kept)}
    assert not [n for n in os.listdir(store) if n.startswith((".trash-", ".tmp-"))]
    ok("store", "verify", cwd=isolated)


def test_a_running_envr_exec_keeps_its_packages(isolated: Path) -> None:
    project = write_project(isolated / "proj", "1")
    env = dict(os.environ, PWD=str(isolated))
    cmd = [ENVR, "exec", str(project), "--", "sh", "-c", "echo started; read line"]
    child = subprocess.Popen(cmd, cwd=isolated, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "started\n"
        shutil.rmtree(generations.root_dir())  # only the running command roots the package now
        path = ok("store", "path", "tool", cwd=project).stdout.strip()
        assert "deleted 0 store paths" in ok("gc", cwd=isolated).stderr
        assert looks_valid(path)
    finally:
        child.communicate("done\n", timeout=30)
    assert "deleted 1 store path" in ok("gc", cwd=isolated).stderr
    assert not looks_valid(path)
