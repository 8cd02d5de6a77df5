#!/usr/bin/env python3
"""envr gc on a synthetic store, and the cost of entering a project pinned to an older generation.

    python bench/gc.py [--paths 2000] [--roots 1000] [--runs 20]

1. A store of --paths registered store paths (one small file each; every tenth references the next one),
   --roots of them held by project generations (100 projects x 10 generations), made directly in the
   registry and on disk. Times `envr gc` as a user runs it (the whole command, including the interpreter),
   then the collector alone (in process), and prints the path counts.
2. A project with one path package and two generations: the core's run on entering it (what the prompt hook
   runs, python -I), plainly and pinned to generation 1 after `envr rollback`; medians of --runs runs.
Standalone: temp dirs for the store and XDG dirs; nothing of yours is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

ENVR = str(Path(sys.executable).parent / "envr")
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from envr.prompt.entry import boot; boot()"


def synthesise(store: Path, n_paths: int, n_roots: int, projects: Path) -> list[str]:
    from envr.history import generations
    from envr.store import registry, valid_marker
    from envr.store.tree import make_read_only

    paths = [str(store / f"{i:032x}-pkg{i}-1.0") for i in range(n_paths)]
    with registry._connect(str(store)):  # the registry first: store paths without one mean a damaged store
        pass
    rows, refs = [], []
    for i, p in enumerate(paths):
        os.makedirs(os.path.join(p, ".envr", "bin"))
        Path(p, "tool").write_bytes(b"#!/bin/sh\necho hi\n" * 10)
        make_read_only(p)
        rows.append((p, json.dumps({"bench": i}), 180, "sha256:" + "0" * 64, time.time() - 3600))
        if i % 10 == 0 and i + 1 < n_paths:
            refs.append((p, paths[i + 1]))
    with registry._connect(str(store)) as db, db:
        db.executemany("INSERT INTO paths VALUES (?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO refs VALUES (?, ?)", refs)
    for p in paths:
        marker = valid_marker(p)
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "a").close()
    per_project = 10
    for k in range(n_roots // per_project):
        proj = projects / f"p{k}"
        proj.mkdir(parents=True)
        (proj / "envr.toml").write_text("version = 1\n")
        for g in range(per_project):
            p = paths[(k * per_project + g) * 2]  # every other path is a root
            bins = [os.path.join(p, ".envr", "bin")]
            generations.record(str(proj / "envr.toml"), generations.generation_content({}, [], [], bins, [], {}))
    return paths


def bench_gc(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    store = tmp / "store"
    started = time.perf_counter()
    paths = synthesise(store, args.paths, args.roots, tmp / "projects")
    made = time.perf_counter() - started
    r = subprocess.run([ENVR, "gc", "--dry-run"], env=env, capture_output=True, text=True, check=True)
    started = time.perf_counter()
    r = subprocess.run([ENVR, "gc"], env=env, capture_output=True, text=True, check=True)
    took = time.perf_counter() - started
    left = sum(1 for n in os.listdir(store) if not n.startswith("."))
    print(f"store: {len(paths)} paths, {args.roots} rooted by generations (synthesised in {made:.1f}s)")
    print(f"envr gc (whole command): {took * 1000:.0f} ms; {r.stderr.strip()}; {left} paths left on disk")

    # the collector alone, on a fresh store of the same shape (mark = reading roots + registry, sweep = deleting)
    import shutil

    shutil.rmtree(tmp / "projects")
    shutil.rmtree(tmp / "data", ignore_errors=True)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("XDG_", "ENVR_"))})
    store2 = tmp / "store2"
    synthesise(store2, args.paths, args.roots, tmp / "projects")
    from envr.history import generations
    from envr.store.gc import collect

    started = time.perf_counter()
    result = collect(str(store2), generations.roots, dry_run=True)  # mark: reading the roots and walking
    mark = time.perf_counter() - started
    started = time.perf_counter()
    result = collect(str(store2), generations.roots)
    sweep = time.perf_counter() - started
    print(
        f"collect() in process: mark (roots + registry + closure) {mark * 1000:.0f} ms, "
        f"mark + sweep {sweep * 1000:.0f} ms; {len(result.paths)} deleted, {result.live} kept"
    )


def bench_rollback(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    proj = tmp / "rb"
    (proj / "tool").mkdir(parents=True)
    lib = str(HERE.parent / "src")

    def version(v: str) -> None:
        exe = proj / "tool" / "tool"
        exe.write_text(f"#!/bin/sh\necho {v}\n")
        exe.chmod(0o755)
        (proj / "envr.toml").write_text(
            f'version = 1\n[env]\nA = "1"\n[packages]\ntool = {{ path = "./tool", bin = ["tool"], version = "{v}" }}\n'
        )
        e = dict(env, PWD=str(proj))
        subprocess.run([ENVR, "allow"], cwd=proj, env=e, check=True, capture_output=True)
        subprocess.run([ENVR, "sync"], cwd=proj, env=e, check=True, capture_output=True)

    version("1")
    version("2")
    e = dict(env, PWD=str(proj))
    e.pop("ENVR_STATE", None)

    def enter() -> float:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-I", "-c", BOOT, lib, "bash"], cwd=proj, env=e, check=True, capture_output=True
        )
        return time.perf_counter() - started

    for _ in range(3):
        enter()
    plain = statistics.median(enter() for _ in range(args.runs))
    subprocess.run([ENVR, "rollback"], cwd=proj, env=e, check=True, capture_output=True)
    for _ in range(3):
        enter()
    pinned = statistics.median(enter() for _ in range(args.runs))
    print(
        f"enter a project (core run, median of {args.runs}): plain {plain * 1000:.1f} ms, "
        f"pinned to an older generation {pinned * 1000:.1f} ms (ratio {pinned / plain:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=2000)
    parser.add_argument("--roots", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envr-bench-gc-") as name:
        tmp = Path(name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENVR_")}
        for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
            env[var] = str(tmp / sub)
        env["ENVR_STORE"] = str(tmp / "store")
        env["HOME"] = str(tmp)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("XDG_", "ENVR_"))})
        bench_gc(args, tmp, env)
        bench_rollback(args, tmp, env)


if __name__ == "__main__":
    main()
