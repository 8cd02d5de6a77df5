#!/usr/bin/env python3
"""Time realising a node runtime from a loopback mirror against `curl | tar` of the same file, and resolving
`node:MAJOR` from a cached index.

    python bench/runtimes.py [--repeat 5]

The mirror (nodejs.org's layout, on 127.0.0.1) serves this machine's node repacked as
node-vX-linux-x64.tar.gz, as tests/runtimes does. Each run starts from an empty download cache, so every run
downloads the archive:
- `curl | tar`: `curl -s URL | tar -xz -C DIR` (no checksum, nothing else);
- envr's source: NodeSource.realise into an empty directory, as the store calls it: download with the sha256
  checked as it streams, envr's own safe extractor, and `node --version` checked against the index;
- `envr sync`: the whole command in a fresh store (interpreter and CLI start-up, flocks, the tree's content
  hash, read-only, rename, registry) — what a user waits for.
Resolving: NodeSource.recipe of an unlocked `node:MAJOR` (index.json and SHASUMS256.txt from the cache, no
network), in-process, and `envr store path node` with the mirror gone. Entering: the hook's core loading the
node project (realised) against a plain one. Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ENVR = str(Path(sys.executable).parent / "envr")


def median(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_mirror(root: Path) -> str:
    """nodejs.org's layout in root, with this machine's node; returns its version."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("bench/runtimes.py needs node on PATH (it repacks this machine's)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()[1:]
    top = f"node-v{version}-linux-x64"
    tree = root / "tree" / top / "bin"
    tree.mkdir(parents=True)
    shutil.copy2(os.path.realpath(node), tree / "node")
    dist = root / "node" / f"v{version}"
    dist.mkdir(parents=True)
    archive = dist / f"{top}.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(root / "tree"), top], check=True)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (dist / "SHASUMS256.txt").write_text(f"{digest}  {top}.tar.gz\n")
    major = int(version.split(".")[0])
    index: list[dict[str, object]] = [{"version": f"v{version}", "files": ["linux-x64"], "lts": "Bench"}]
    files = [
        "aix-ppc64",
        "headers",
        "linux-arm64",
        "linux-armv7l",
        "linux-ppc64le",
        "linux-s390x",
        "linux-x64",
        "osx-arm64-tar",
        "osx-x64-pkg",
        "osx-x64-tar",
        "src",
        "win-x64-7z",
        "win-x64-exe",
        "win-x64-msi",
    ]
    index += [
        {
            "version": f"v{m}.{i}.{j}",
            "date": "2026-01-01",
            "files": files,
            "npm": "10.0.0",
            "v8": "12.4",
            "lts": False,
            "security": False,
        }
        for m in range(major - 16, major)
        for i in range(12)
        for j in range(4)
    ]
    # about as many releases as nodejs.org's index.json lists
    (root / "node" / "index.json").write_text(json.dumps(index))
    return version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from envr.store.sources import fetching
    from envr.store.sources.base import PackageSpec, RealiseContext
    from envr.store.sources.node import SOURCE

    with tempfile.TemporaryDirectory(prefix="envr-bench-runtimes-") as tmp:
        work = Path(tmp)
        version = build_mirror(work / "mirror")

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

        handler = partial(Quiet, directory=str(work / "mirror"))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        root = f"http://127.0.0.1:{httpd.server_address[1]}/node"
        url = f"{root}/v{version}/node-v{version}-linux-x64.tar.gz"
        size = os.path.getsize(work / "mirror" / "node" / f"v{version}" / f"node-v{version}-linux-x64.tar.gz")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVR_", "XDG_"))}
        env.update(
            ENVR_NODE_MIRROR=root,
            XDG_CACHE_HOME=str(work / "cache"),
            XDG_DATA_HOME=str(work / "data"),
            XDG_STATE_HOME=str(work / "state"),
            XDG_CONFIG_HOME=str(work / "config"),
        )
        os.environ.update(env)
        n = [0]

        def fresh(name: str) -> Path:
            n[0] += 1
            d = work / f"{name}-{n[0]}"
            d.mkdir()
            shutil.rmtree(work / "cache" / "downloads", ignore_errors=True)
            return d

        def curl_tar() -> None:
            d = fresh("curl")
            subprocess.run(f"curl -s {url} | tar -xz -C {d}", shell=True, check=True)

        major = version.split(".")[0]
        spec = PackageSpec("node", "node", {"node": major}, str(work), str(work / "envr.toml"))

        def source_realise() -> None:
            d = fresh("out")
            with fetching():  # as a sync realises: the index may be downloaded
                SOURCE.realise(spec, d, RealiseContext(work / "realise.log", environ=env))

        project = work / "proj"
        project.mkdir()
        (project / "envr.toml").write_text(f'[packages]\nnode = "node:{major}"\n')
        subprocess.run([ENVR, "allow"], cwd=project, env=env, check=True, capture_output=True)

        def envr_sync() -> None:
            store = fresh("store")
            shutil.rmtree(store)
            r = subprocess.run(
                [ENVR, "sync"],
                cwd=project,
                env={**env, "ENVR_STORE": str(store), "PWD": str(project)},
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                raise SystemExit(r.stderr)

        curl_tar()  # warm the page cache and the index cache
        source_realise()
        envr_sync()
        t_curl = median(curl_tar, args.repeat)
        t_source = median(source_realise, args.repeat)
        t_sync = median(envr_sync, args.repeat)

        def resolve() -> None:
            SOURCE.recipe(spec)

        t_resolve = median(resolve, max(args.repeat, 20))
        httpd.shutdown()  # the mirror is gone: resolving uses the cached index alone
        store = work / "store-path"

        def store_path() -> None:
            r = subprocess.run(
                [ENVR, "store", "path", "node"],
                cwd=project,
                capture_output=True,
                text=True,
                env={**env, "ENVR_STORE": str(store), "PWD": str(project)},
            )
            if r.returncode != 0:
                raise SystemExit(r.stderr)

        t_path = median(store_path, args.repeat)
        t_plain, t_runtime = enter_costs(env, work, project, max(args.repeat, 5) * 6)
        print(f"node {version} from a loopback mirror ({size / 1e6:.1f} MB .tar.gz), medians of {args.repeat}:")
        print(f"  curl | tar                          {t_curl:7.3f} s")
        print(f"  envr's node source (realise)        {t_source:7.3f} s   {t_source / t_curl:.2f}x   (target <= 1.2x)")
        print(f"  envr sync (the whole command)       {t_sync:7.3f} s   {t_sync / t_curl:.2f}x")
        print(f"  resolve node:{major} from the cached index  {t_resolve * 1000:7.2f} ms (in-process, no network)")
        print(f"  envr store path node, mirror gone   {t_path:7.3f} s   (CLI start-up included)")
        print(f"  enter (the hook's core), plain      {t_plain * 1000:7.2f} ms")
        print(
            f"  enter, node:{major} realised          {t_runtime * 1000:7.2f} ms   "
            f"{t_runtime / t_plain:.2f}x plain   (target: as cheap as without)"
        )


def enter_costs(env: dict[str, str], work: Path, project: Path, runs: int) -> tuple[float, float]:
    """Median wall time of the hook's core loading a plain project and the node project (realised in a store
    of its own, the prompt's caches warm), run exactly as `envr hook bash` runs it, alternating the two."""
    store = work / "enter-store"
    full = {**env, "ENVR_STORE": str(store)}
    subprocess.run([ENVR, "sync"], cwd=project, env={**full, "PWD": str(project)}, check=True, capture_output=True)
    plain = work / "plain"
    plain.mkdir()
    (plain / "envr.toml").write_text('[env]\nGREETING = "hello"\n')
    subprocess.run([ENVR, "allow"], cwd=plain, env={**full, "PWD": str(plain)}, check=True, capture_output=True)
    shown = subprocess.run(
        [
            "bash",
            "-c",
            'eval "$("$1" hook bash)"; printf "%s\\0%s\\0%s" "$_envr_py" "$_envr_boot" "$_envr_lib"',
            "-",
            ENVR,
        ],
        env=full,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    py, boot, lib = shown.split("\0")

    def core(where: Path) -> float:
        started = time.perf_counter()
        r = subprocess.run(
            [py, "-I", "-c", boot, lib, "bash", ""], cwd=where, env={**full, "PWD": str(where)}, capture_output=True
        )
        took = time.perf_counter() - started
        if r.returncode != 0 or b"loaded" not in r.stderr:
            raise SystemExit(f"the core did not load {where}: {r.stderr.decode(errors='replace')}")
        return took

    for _ in range(3):  # the parse and package-view caches, the page cache
        core(plain), core(project)
    times: dict[Path, list[float]] = {plain: [], project: []}
    for _ in range(runs):
        for where in (plain, project):
            times[where].append(core(where))
    return statistics.median(times[plain]), statistics.median(times[project])


if __name__ == "__main__":
    main()
