#!/usr/bin/env python3
"""Time envr's pypi realise of a tool against `uv tool install` of the same tool, warm and cold uv cache.

    python bench/pypi_vs_uv.py                              # cowsay==6.1 from the real PyPI
    python bench/pypi_vs_uv.py --requirement ruff==0.6.9 --repeat 5
    python bench/pypi_vs_uv.py --requirement envrdemo==1.0 --find-links ./wheels   # offline, UV_NO_INDEX=1

Both sides use the same uv binary (uv.find_uv_bin()) and the same index settings. "cold" is a fresh, empty
UV_CACHE_DIR per run (so it includes downloads); "warm" shares one cache that an untimed run filled first.
`uv tool install` gets its own UV_TOOL_DIR and UV_TOOL_BIN_DIR per run, so nothing leaks between runs or into
the user's tools. envr's side is PypiSource.realise into an empty directory, as the store calls it (without the
store's locking, hashing and chmod, which are measured by the store's own benchmarks). Prints medians and the
ratio envr/uv; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from envr.store.sources.base import PackageSpec, RealiseContext
from envr.store.sources.pypi import SOURCE, uv_bin
from envr.store.sources.uv_index import uv_environ


def envr_realise(requirement: str, work: Path, env: dict[str, str]) -> None:
    out = work / "out"
    out.mkdir()
    spec = PackageSpec("tool", "pypi", {"pypi": requirement}, str(work), str(work / "envr.toml"))
    SOURCE.realise(spec, out, RealiseContext(work / "realise.log", environ=env))
    if not SOURCE.bins(spec, out):
        raise SystemExit(f"envr realised {requirement} but found no console scripts")


def uv_tool_install(requirement: str, work: Path, env: dict[str, str], *extra: str) -> None:
    tool_env = {**env, "UV_TOOL_DIR": str(work / "tools"), "UV_TOOL_BIN_DIR": str(work / "bin")}
    subprocess.run(
        [uv_bin(), "tool", "install", "--no-progress", *extra, requirement],
        env=tool_env,
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def uv_tool_install_compiled(requirement: str, work: Path, env: dict[str, str]) -> None:
    """The same work envr must do: a read-only store path cannot write __pycache__ later, so envr compiles."""
    uv_tool_install(requirement, work, env, "--compile-bytecode")


def time_runs(
    fn: Callable[[str, Path, dict[str, str]], None], requirement: str, env: dict[str, str], repeat: int, cold: bool
) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory(prefix="envr-bench-") as tmp:
        shared_cache = Path(tmp, "cache-warm")
        if not cold:  # fill the shared cache once, untimed
            warm_dir = Path(tmp, "warmup")
            warm_dir.mkdir()
            fn(requirement, warm_dir, {**env, "UV_CACHE_DIR": str(shared_cache)})
        for i in range(repeat):
            work = Path(tmp, f"run-{i}")
            work.mkdir()
            cache = Path(tmp, f"cache-cold-{i}") if cold else shared_cache
            started = time.perf_counter()
            fn(requirement, work, {**env, "UV_CACHE_DIR": str(cache)})
            times.append(time.perf_counter() - started)
            shutil.rmtree(work)
            if cold:
                subprocess.run(
                    [uv_bin(), "cache", "clean", "--cache-dir", str(cache)], capture_output=True, check=False
                )
                shutil.rmtree(cache, ignore_errors=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requirement", default="cowsay==6.1")
    parser.add_argument("--find-links", help="a wheel directory; implies UV_NO_INDEX=1 (no network)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    env = uv_environ(os.environ)
    if args.find_links:
        env.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(Path(args.find_links).resolve()))
    print(
        f"{subprocess.run([uv_bin(), '--version'], capture_output=True, text=True).stdout.strip()}, "
        f"python {sys.version.split()[0]}, {args.requirement}, {args.repeat} runs each"
    )
    head = f"{'cache':<6} {'envr realise':>14} {'uv tool install':>16} {'ratio':>7}"
    print(f"{head} {'+ --compile-bytecode':>21} {'ratio':>7}")
    for cold in (False, True):
        envr = statistics.median(time_runs(envr_realise, args.requirement, env, args.repeat, cold))
        uv = statistics.median(time_runs(uv_tool_install, args.requirement, env, args.repeat, cold))
        uvc = statistics.median(time_runs(uv_tool_install_compiled, args.requirement, env, args.repeat, cold))
        print(
            f"{'cold' if cold else 'warm':<6} {envr:>13.3f}s {uv:>15.3f}s {envr / uv:>6.2f}x"
            f" {uvc:>20.3f}s {envr / uvc:>6.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
