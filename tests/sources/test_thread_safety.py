"""Issue 10 item 1: a teammate's first enter crashed with `TypeError: can only concatenate str (not
"NoneType") to str`. Realisations run in 8 worker threads; uv.find_uv_bin() starts with
`"uv" + sysconfig.get_config_var("EXE")`, and on CPython 3.11 sysconfig's first get_config_vars() publishes a
half-filled dict that other threads read. Only a cold interpreter shows it (the hook's `python -I`): these
tests start one per attempt, and run on every interpreter the suite runs on (3.11.2 and 3.11.7 in CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sources_helpers import World
from wheelmaker import make_wheel

THREADS = 8
ATTEMPTS = 20

RAW = """
import sys, threading
results = []
barrier = threading.Barrier(THREADS)
def work():
    barrier.wait()
    import sysconfig
    try:
        results.append("uv" + sysconfig.get_config_var("EXE"))
    except Exception as e:
        results.append(repr(e))
threads = [threading.Thread(target=work) for _ in range(THREADS)]
for t in threads: t.start()
for t in threads: t.join()
print("RACE" if any(r != "uv" for r in results) else "ok")
""".replace("THREADS", str(THREADS))

ENVR_PATH = """
import sys, threading
from pathlib import Path
results = []
barrier = threading.Barrier(THREADS)
def work():
    barrier.wait()
    try:
        from envr.store.sources.base import RealiseContext  # what every realisation does first
        from envr.store.sources import pypi
        RealiseContext(Path("/nonexistent/log"))
        import sysconfig, uv  # any later sysconfig user in the realise path, and uv's own lookup
        results.append(("uv" + sysconfig.get_config_var("EXE"), uv.find_uv_bin(), pypi.uv_bin()))
    except Exception as e:
        results.append(repr(e))
threads = [threading.Thread(target=work) for _ in range(THREADS)]
for t in threads: t.start()
for t in threads: t.join()
print("ok" if len(set(results)) == 1 and isinstance(results[0], tuple) else "BAD %r" % results)
""".replace("THREADS", str(THREADS))


def cold(code: str) -> str:
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="sysconfig initialises under a lock from 3.12 on")
def test_the_race_exists_on_this_interpreter() -> None:
    """The control: without envr's fix, 8 threads in a cold `python -I` do hit the half-filled sysconfig."""
    outcomes = [cold(RAW) for _ in range(40)]
    assert "RACE" in outcomes, "the race did not show in 40 cold interpreters: the regression test proves nothing"


def test_envrs_realise_path_is_safe_in_a_cold_interpreter_with_8_threads() -> None:
    outcomes = [cold(ENVR_PATH) for _ in range(ATTEMPTS)]
    assert outcomes == ["ok"] * ATTEMPTS, [o for o in outcomes if o != "ok"][:3]


def test_a_first_sync_of_8_pypi_tools_in_a_cold_interpreter_never_crashes(tmp_path: Path) -> None:
    """The teammate's own case: 8 PyPI tools realised at once by `python -I -m envr sync`, three fresh homes."""
    house = tmp_path / "wheels"
    house.mkdir()
    for i in range(THREADS):
        make_wheel(
            house,
            f"envrtool{i}",
            "1.0",
            {f"envrtool{i}.py": "def main():\n    print('ok')\n"},
            f"[console_scripts]\nenvrtool{i} = envrtool{i}:main\n",
        )
    packages = "\n".join(f'tool{i} = "pypi:envrtool{i}==1.0"' for i in range(THREADS))
    for user in range(3):
        world = World(tmp_path / f"user{user}")
        env = {k: v for k, v in world.env.items() if not k.startswith(("PIP_", "UV_"))}
        env.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(house), UV_CACHE_DIR=str(tmp_path / f"uv-cache{user}"))
        world.env = env
        root = world.project("p", packages)
        r = subprocess.run(
            [sys.executable, "-I", "-m", "envr", "sync"],
            cwd=root,
            env={**env, "PWD": str(root)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "internal error" not in r.stderr and r.returncode == 0, r.stderr
        assert len(world.registered()) == THREADS
