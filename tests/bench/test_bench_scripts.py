"""The standalone benchmarks still run against today's code (they import envr's internals, which move).

No timing is asserted: this only keeps `python bench/gc.py` from rotting between the runs that publish numbers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_gc_benchmark_runs_at_a_small_size_and_collects_what_no_generation_roots() -> None:
    r = subprocess.run(
        [sys.executable, str(BENCH / "gc.py"), "--paths", "40", "--roots", "20", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    # 20 roots (every other path) plus the 4 paths that every tenth one references: 24 kept, 16 deleted
    assert "deleted 16 store paths" in r.stdout and "24 paths left on disk" in r.stdout, r.stdout
    assert "pinned to an older generation" in r.stdout, r.stdout
