"""The commands a user runs outside the prompt hook, through the installed console script."""

from __future__ import annotations

import json
import os
from pathlib import Path

from envr import __version__
from envr_testing import run_envr

PROJECT = '[env]\nGREETING = "hello"\nDATA = "${ENVR_ROOT}/data"\nGONE = false\n[path]\nprepend = ["bin"]\n'


def make_project(tmp_path: Path, text: str = PROJECT, name: str = "proj") -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "envr.toml").write_text(text)
    return d


def test_version(isolated: Path) -> None:
    r = run_envr("--version", cwd=isolated)
    assert r.returncode == 0 and r.stdout.strip() == f"envr {__version__}"


def test_exec_refuses_untrusted_and_does_not_run(isolated: Path) -> None:
    proj = make_project(isolated)
    marker = isolated / "ran"
    r = run_envr("exec", str(proj), "--", "touch", str(marker), cwd=isolated)
    assert r.returncode != 0
    assert not marker.exists()
    assert "not allowed" in r.stderr and "envr allow" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_allow_then_exec_runs_with_env_and_passes_status(isolated: Path) -> None:
    proj = make_project(isolated)
    assert run_envr("allow", str(proj), cwd=isolated).returncode == 0
    env = {**os.environ, "GONE": "still here"}
    r = run_envr(
        "exec",
        str(proj),
        "--",
        "sh",
        "-c",
        'echo "$GREETING|$DATA|${GONE-unset}|$PATH|$ENVR_ROOT"; exit 7',
        cwd=isolated,
        env=env,
    )
    assert r.returncode == 7
    greeting, data, gone, path, root = r.stdout.strip().split("|")
    assert (greeting, data, gone, root) == ("hello", f"{proj}/data", "unset", str(proj))
    assert path.split(":")[0] == f"{proj}/bin"


def test_exec_without_project(isolated: Path) -> None:
    r = run_envr("exec", str(isolated), "--", "true", cwd=isolated)
    assert r.returncode != 0 and "no envr.toml" in r.stderr


def test_edit_blocks_until_allowed_again(isolated: Path) -> None:
    proj = make_project(isolated)
    run_envr("allow", cwd=proj)
    (proj / "envr.toml").write_text(PROJECT + "# edited\n")
    r = run_envr("exec", ".", "--", "true", cwd=proj)
    assert r.returncode != 0 and "changed since allowed" in r.stderr
    run_envr("allow", cwd=proj)
    assert run_envr("exec", ".", "--", "true", cwd=proj).returncode == 0


def test_deny_revokes(isolated: Path) -> None:
    proj = make_project(isolated)
    run_envr("allow", cwd=proj)
    assert run_envr("deny", cwd=proj).returncode == 0
    r = run_envr("exec", ".", "--", "true", cwd=proj)
    assert r.returncode != 0 and "denied" in r.stderr


def test_allow_refuses_an_invalid_file(isolated: Path) -> None:
    proj = make_project(isolated, "[env]\nPORT = 1\n")
    r = run_envr("allow", cwd=proj)
    assert r.returncode != 0
    assert (
        r.stderr.strip() == f"envr: {proj}/envr.toml:2:1: env.PORT must be a string or false (to unset), not an integer"
    )
    assert not (isolated / "data" / "envr" / "allow").exists() or not os.listdir(isolated / "data" / "envr" / "allow")


def test_approvals_live_in_xdg_data_home(isolated: Path) -> None:
    proj = make_project(isolated)
    run_envr("allow", cwd=proj)
    records = list((isolated / "data" / "envr" / "allow").iterdir())
    assert len(records) == 1 and str(proj / "envr.toml") in records[0].read_text()


def test_prune_drops_approvals_of_missing_files(isolated: Path) -> None:
    keep = make_project(isolated, name="keep")
    gone = make_project(isolated, name="gone")
    run_envr("allow", cwd=keep)
    run_envr("allow", cwd=gone)
    (gone / "envr.toml").unlink()
    r = run_envr("prune", cwd=isolated)
    assert r.returncode == 0
    assert str(gone / "envr.toml") in r.stdout and str(keep / "envr.toml") not in r.stdout
    assert run_envr("exec", str(keep), "--", "true", cwd=isolated).returncode == 0


def test_export_json_is_relative_to_current_env(isolated: Path) -> None:
    proj = make_project(isolated)
    run_envr("allow", cwd=proj)
    env = {**os.environ, "GONE": "x", "GREETING": "hello"}
    r = run_envr("export", "json", cwd=proj, env=env)
    assert r.returncode == 0, r.stderr
    delta = json.loads(r.stdout)
    assert delta["GONE"] is None
    assert "GREETING" not in delta  # already has the wanted value
    assert delta["DATA"] == f"{proj}/data"
    assert delta["ENVR_ROOT"] == str(proj)
    assert delta["PATH"].startswith(f"{proj}/bin:")


def test_export_dotenv_quotes_for_sh(isolated: Path) -> None:
    proj = make_project(isolated, '[env]\nA = "say \\"hi\\" $x\\\\"\n')
    run_envr("allow", cwd=proj)
    r = run_envr("export", "dotenv", cwd=proj)
    assert "A='say \"hi\" $x\\'\n" in r.stdout  # tests/export/test_dotenv.py sources it in sh and bash


def test_export_reports_untrusted_for_tools(isolated: Path) -> None:
    proj = make_project(isolated)
    r = run_envr("export", "json", cwd=proj)
    assert r.returncode != 0 and "envr allow" in r.stderr


def test_status_shows_trust_and_values(isolated: Path) -> None:
    proj = make_project(isolated)
    r = run_envr("status", cwd=proj)
    assert "trust: not allowed" in r.stdout and "blocked" in r.stdout
    run_envr("allow", cwd=proj)
    r = run_envr("status", cwd=proj)
    assert "trust: allowed" in r.stdout
    assert "GREETING: 'hello'" in r.stdout
    assert f"project: {proj}" in r.stdout


def test_hook_unknown_shell(isolated: Path) -> None:
    r = run_envr("hook", "tcsh", cwd=isolated)
    assert r.returncode != 0 and "unknown shell 'tcsh'" in r.stderr


def test_hook_text_points_at_this_interpreter(isolated: Path) -> None:
    r = run_envr("hook", "bash", cwd=isolated)
    first = r.stdout.splitlines()[0]
    assert first.startswith("_envr_py='/") and "python" in first


def test_first_prompt_after_allow_needs_no_toml_parser(isolated: Path) -> None:
    """allow parses the file into the prompt's cache, so the hook's next run skips tomllib's import."""
    import subprocess
    import sys

    proj = make_project(isolated)
    assert run_envr("allow", cwd=proj).returncode == 0
    boot = "import sys; sys.path.insert(0, sys.argv[1]); from envr.prompt.entry import boot; boot()"
    lib = str(Path(__file__).resolve().parent.parent / "src")
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-I", "-c", boot, lib, "bash"],
        cwd=proj,
        env={**os.environ, "PWD": str(proj)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert "export GREETING='hello'" in r.stdout
    assert "envr.prompt.core" in r.stderr  # importtime did report the core's imports
    assert "tomllib" not in r.stderr


def test_a_whole_second_mtime_is_rechecked_for_longer(isolated: Path) -> None:
    """On filesystems that keep whole seconds, a file edited within the last ~3 s is re-checked next prompt."""
    import time

    from envr.prompt.watched import Watched as Watch

    f = isolated / "f"
    f.write_text("x")
    now = time.time_ns()
    fine = Watch()
    os.utime(f, ns=(now - 500_000_000 + 1, now - 500_000_000 + 1))  # 0.5 s ago, sub-second precision
    fine.expect(str(f))
    coarse = Watch()
    whole = (now // 1_000_000_000) * 1_000_000_000 - 1_000_000_000  # 1-2 s ago, on a whole second
    os.utime(f, ns=(whole, whole))
    coarse.expect(str(f))
    assert (fine.racy, coarse.racy) == (False, True)
