"""`envr ls`: the project's (or the profile's) packages with versions, lock pins, state and store paths, read-only."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import offline_env, ok, project, run_envr, snapshot, wheelhouse

TEXT = """\
[packages]
mytools = { path = "./tools" }
daytool = "pypi:daytool==1.0"
"""


def table(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "VERSION", "LOCKED", "STATE", "STORE", "PATH"], stdout
    return {line.split()[0]: line.split() for line in lines[1:]}


def test_ls_shows_kind_version_lock_state_and_store_path_and_writes_nothing(isolated: Path) -> None:
    env = offline_env(wheelhouse(isolated / "wheels"), isolated)
    p = project(isolated / "p", TEXT)
    ok(run_envr("allow", cwd=p, env=env))
    ok(run_envr("lock", cwd=p, env=env))

    before = snapshot(isolated)
    r = ok(run_envr("ls", cwd=p, env=env))
    assert snapshot(isolated) == before  # no build, no store, no registry, no cache, no approval touched
    rows = table(r.stdout)
    assert list(rows) == ["mytools", "daytool"]  # file order
    _, kind, version, locked, state, path = rows["daytool"]
    assert (kind, version, locked, state) == ("pypi", "1.0", "1.0", "missing")
    assert path.endswith("-daytool-1.0") and "/" not in path
    assert rows["mytools"][1:3] == ["path", "local"] and len(rows["mytools"][3]) == 12  # a content hash prefix
    assert r.stderr == ""

    ok(run_envr("sync", cwd=p, env=env))
    rows = table(ok(run_envr("ls", cwd=p, env=env)).stdout)
    assert rows["daytool"][4] == rows["mytools"][4] == "realised"
    long = table(ok(run_envr("ls", "--long", cwd=p, env=env)).stdout)
    store_path = Path(long["daytool"][5])
    assert store_path.parent == isolated / "store" and store_path.name == rows["daytool"][5]
    assert (store_path / ".envr" / "bin" / "daytool").exists()


def test_ls_of_a_project_without_a_lock_or_approval_says_so_and_resolves_nothing(isolated: Path) -> None:
    env = offline_env(isolated / "no-wheels", isolated)
    p = project(isolated / "p", TEXT + 'later = "pypi:daytool"\n')
    before = snapshot(isolated)
    r = ok(run_envr("ls", "--project", str(p / "envr.toml"), cwd=isolated, env=env))
    rows = table(r.stdout)
    assert rows["daytool"][3] == "-" and rows["later"][2] == "unpinned" and rows["later"][4] == "missing"
    assert "is not allowed" in r.stderr and "envr allow" in r.stderr
    assert not (isolated / "uv-cache").exists()  # nothing asked uv
    new = {k for k in snapshot(isolated) if k not in before}
    assert all(k.startswith("cache") for k in new), new  # only the path source's content-hash memo, as at a prompt


def test_ls_with_a_stale_lock_names_it_and_keeps_the_pins_that_still_fit(isolated: Path) -> None:
    env = offline_env(wheelhouse(isolated / "wheels"), isolated)
    p = project(isolated / "p", TEXT)
    ok(run_envr("allow", cwd=p, env=env))
    ok(run_envr("lock", cwd=p, env=env))
    (p / "envr.toml").write_text(TEXT.replace("daytool==1.0", "daytool>=1.0"))
    r = ok(run_envr("ls", cwd=p, env=env))
    rows = table(r.stdout)
    assert rows["daytool"][2:4] == ["unpinned", "-"]  # its entry changed: the lock's pin no longer applies
    assert rows["mytools"][3] != "-"
    assert "envr.lock is stale" in r.stderr and "run envr lock" in r.stderr


def test_ls_profile_lists_the_profile_tools(isolated: Path) -> None:
    tools = project(isolated / "t", "")
    r = ok(run_envr("ls", "--profile", cwd=isolated))
    assert r.stdout == "" and "no tools" in r.stderr
    ok(run_envr("profile", "install", f"hello=path:{tools / 'tools'}", cwd=isolated))
    r = ok(run_envr("ls", "--profile", cwd=isolated))
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "VERSION", "STATE", "STORE", "PATH"]
    name, kind, version, state, path = lines[1].split()
    assert (name, kind, version, state) == ("hello", "path", "local", "realised") and path.endswith("-hello-local")


def test_ls_outside_a_project_and_with_an_empty_one(isolated: Path) -> None:
    r = run_envr("ls", cwd=isolated)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f"envr: no envr.toml at or above {isolated} (envr init writes one)"
    ]
    p = project(isolated / "p", "[env]\nA = '1'\n")
    ok(run_envr("allow", cwd=p))
    r = ok(run_envr("ls", cwd=p))
    assert r.stdout == "" and r.stderr == f"envr: no packages in {p / 'envr.toml'}\n"
