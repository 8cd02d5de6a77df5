"""envr.lock across clones, the lock check, editing envr.toml from the command line, the git hook, CI exports.

Hermetic: PyPI packages come from hand-made wheels (UV_FIND_LINKS + UV_NO_INDEX), npm from an `npm pack`
tarball with an unreachable registry, the rest from local directories.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from envr.store.hashing import tree_hash
from envr_testing import git, make_npm_tarball, needs_node, offline_env, ok, run_envr

PROJECT = """\
version = 1
# Tools for this project (a comment the edits must keep)
[packages]
demo = "pypi:lockdemo==1.0"   # the demo tool
tools = { path = "./tools" }
greet = { path = "./greet-src", build = "mkdir -p $out/bin && cp greet.sh $out/bin/greet && chmod +x $out/bin/greet" }
"""


def make_repo(root: Path, with_npm: bool) -> Path:
    root.mkdir(parents=True)
    (root / "tools" / "bin").mkdir(parents=True)
    (root / "tools" / "bin" / "mytool").write_text("#!/bin/sh\necho mytool\n")
    (root / "tools" / "bin" / "mytool").chmod(0o755)
    (root / "greet-src").mkdir()
    (root / "greet-src" / "greet.sh").write_text("#!/bin/sh\necho built greeting\n")
    text = PROJECT
    if with_npm:
        make_npm_tarball(root / "vendor", root.parent / "npm-pack-cache")
        text += 'npmdemo = { npm = "./vendor/lock-npm-demo-1.0.0.tgz" }\n'
    (root / "envr.toml").write_text(text)
    return root


def store_paths(stdout: str) -> dict[str, str]:
    return {line.split("\t")[0]: line.split("\t")[2] for line in stdout.splitlines() if line.count("\t") == 2}


@needs_node
def test_two_clones_with_one_lock_get_identical_store_paths_and_files(isolated: Path, wheelhouse: Path) -> None:
    origin = make_repo(isolated / "origin", with_npm=True)
    ok(git("init", "-q", "-b", "main", cwd=origin))
    ok(git("add", "-A", cwd=origin))
    ok(git("commit", "-q", "-m", "project", cwd=origin))
    bare = isolated / "shared.git"
    ok(git("clone", "-q", "--bare", str(origin), str(bare), cwd=isolated))

    a, b = isolated / "clone-a", isolated / "clone-b"
    ok(git("clone", "-q", str(bare), str(a), cwd=isolated))
    env_a = offline_env(wheelhouse, isolated / "a-caches", ENVR_STORE=str(isolated / "store-a"))
    ok(run_envr("allow", cwd=a, env=env_a))
    ok(run_envr("lock", cwd=a, env=env_a))
    lock_text = (a / "envr.lock").read_text()
    assert "lockdep==1.1 sha256:" in lock_text  # the whole dependency set, newest allowed, with hashes
    ok(git("add", "envr.lock", cwd=a))
    ok(git("commit", "-q", "-m", "lock", cwd=a))
    ok(git("push", "-q", "origin", "main", cwd=a))
    synced_a = store_paths(ok(run_envr("sync", cwd=a, env=env_a)).stdout)

    # Clone B: a newer lockdep appears on its index; the lock must win, nothing is re-resolved.
    from wheelmaker import make_wheel

    newer = isolated / "newer-wheels"
    shutil.copytree(wheelhouse, newer)
    make_wheel(newer, "lockdep", "1.2", {"lockdep.py": "VERSION = '1.2'\n"})
    ok(git("clone", "-q", str(bare), str(b), cwd=isolated))
    env_b = offline_env(newer, isolated / "b-caches", ENVR_STORE=str(isolated / "store-b"))
    ok(run_envr("allow", cwd=b, env=env_b))
    synced_b = store_paths(ok(run_envr("sync", cwd=b, env=env_b)).stdout)

    assert set(synced_a) == {"demo", "tools", "greet", "npmdemo"}
    assert {n: os.path.basename(p) for n, p in synced_a.items()} == {
        n: os.path.basename(p) for n, p in synced_b.items()
    }
    for name in synced_a:
        if name == "demo":  # compiled bytecode records where it was compiled: compare the sources and scripts
            continue
        assert tree_hash(synced_a[name]) == tree_hash(synced_b[name]), name
    site = f"venv/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"  # envr's own Python
    for rel in (f"{site}/lockdep.py", f"{site}/lockdemo.py", ".envr/bin/lockdemo"):
        assert (Path(synced_a["demo"]) / rel).read_bytes() == (Path(synced_b["demo"]) / rel).read_bytes()
    r = ok(run_envr("exec", ".", "--", "lockdemo", cwd=b, env=env_b))
    assert r.stdout.strip() == "lockdemo 1.1"
    assert (b / "envr.lock").read_text() == lock_text  # sync never rewrites the lock


def test_sync_refuses_a_stale_lock_and_a_package_missing_from_it(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("allow", cwd=p, env=env))
    ok(run_envr("lock", cwd=p, env=env))
    with (p / "envr.toml").open("a") as f:
        f.write('other = "pypi:lockother==2.0"\n')
    ok(run_envr("allow", cwd=p, env=env))
    r = run_envr("sync", cwd=p, env=env)
    assert r.returncode == 1
    assert "envr.lock is stale (other: in envr.toml, not in envr.lock); run envr lock" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (isolated / "store").exists() or not any(
        n.endswith("-other-2.0") for n in os.listdir(isolated / "store")
    )


def test_no_lock_resolves_from_envr_toml_as_before(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("allow", cwd=p, env=env))
    ok(run_envr("sync", cwd=p, env=env))
    assert not (p / "envr.lock").exists()
    assert ok(run_envr("exec", ".", "--", "lockdemo", cwd=p, env=env)).stdout.strip() == "lockdemo 1.1"


def test_lock_check_green_then_red_with_a_readable_diff(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    r = run_envr("lock", "--check", cwd=p, env=env)
    assert r.returncode == 1 and "no envr.lock" in r.stdout
    ok(run_envr("lock", "--trust", cwd=p, env=env))
    ok(run_envr("lock", "--check", cwd=p, env=env))
    text = (p / "envr.toml").read_text().replace("lockdemo==1.0", "lockdemo>=1.0")
    (p / "envr.toml").write_text(text)
    (p / "tools" / "bin" / "mytool").write_text("#!/bin/sh\necho changed\n")
    r = run_envr("lock", "--check", cwd=p, env=env)
    assert r.returncode == 1
    assert '~ demo: envr.toml has "pypi:lockdemo>=1.0", envr.lock was made from "pypi:lockdemo==1.0"' in r.stdout
    assert "~ tools: ./tools changed since envr.lock was written" in r.stdout
    assert "run envr lock" in r.stderr


def test_lock_upgrade_re_resolves_and_shows_what_changed(isolated: Path, wheelhouse: Path) -> None:
    from wheelmaker import make_wheel

    wheels = isolated / "wheels"
    shutil.copytree(wheelhouse, wheels)
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheels, isolated)
    ok(run_envr("lock", "--trust", cwd=p, env=env))
    make_wheel(wheels, "lockdep", "1.2", {"lockdep.py": "VERSION = '1.2'\n"})
    assert "lockdep==1.1" in (p / "envr.lock").read_text()
    r = ok(run_envr("lock", cwd=p, env=env))  # no --upgrade: unchanged entries are not re-resolved
    assert "up to date" in r.stderr
    r = ok(run_envr("lock", "--upgrade", "demo", cwd=p, env=env))
    assert "~ demo 1.0 (dependencies or hashes changed)" in r.stdout
    assert "lockdep==1.2" in (p / "envr.lock").read_text()


@pytest.mark.parametrize("damage", ["unparseable", "version", "hash"])
def test_bad_locks_are_one_line_errors(isolated: Path, wheelhouse: Path, damage: str) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("lock", "--trust", cwd=p, env=env))
    text = (p / "envr.lock").read_text()
    if damage == "unparseable":
        text += "this is [not toml\n"
        want = "envr.lock: cannot parse"
    elif damage == "version":
        text = text.replace("\nversion = 1\n", "\nversion = 2\n")
        want = "lock format version 2, but this envr reads version 1"
    else:
        import re

        good = re.search(r"lockdep==1\.1 sha256:([0-9a-f]{64})", text).group(1)  # type: ignore[union-attr]
        text = text.replace(good, "0" * 64)
        want = f"hash mismatch for lockdep==1.1: envr.lock has sha256:{'0' * 64}, the download has sha256:{good}"
    (p / "envr.lock").write_text(text)
    toml_before = (p / "envr.toml").read_bytes()
    ok(run_envr("allow", cwd=p, env=env))
    r = run_envr("sync", cwd=p, env=env)
    assert r.returncode == 1, r.stderr
    assert want in r.stderr
    assert (p / "envr.toml").read_bytes() == toml_before and (p / "envr.lock").read_text() == text


# --- editing envr.toml --------------------------------------------------------------------------------------


def test_add_pins_keeps_comments_locks_realises_and_stays_allowed(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("allow", cwd=p, env=env))
    r = ok(run_envr("add", "pypi:lockother", cwd=p, env=env))
    assert r.stdout.strip() == 'lockother = "pypi:lockother==2.0"'
    text = (p / "envr.toml").read_text()
    assert text == PROJECT + 'lockother = "pypi:lockother==2.0"\n'
    ok(run_envr("lock", "--check", cwd=p, env=env))
    assert "trust: allowed" in ok(run_envr("status", cwd=p, env=env)).stdout
    assert ok(run_envr("exec", ".", "--", "lockother", cwd=p, env=env)).stdout.strip() == "other"

    ok(run_envr("remove", "lockother", "tools", cwd=p, env=env))
    text = (p / "envr.toml").read_text()
    assert "# Tools for this project (a comment the edits must keep)" in text
    assert 'demo = "pypi:lockdemo==1.0"   # the demo tool' in text
    assert "lockother" not in text and "tools" not in text.split("[packages]")[1].split("greet")[0]
    assert "[packages.tools]" not in (p / "envr.lock").read_text()
    ok(run_envr("lock", "--check", cwd=p, env=env))
    assert "trust: allowed" in ok(run_envr("status", cwd=p, env=env)).stdout


def test_add_to_a_project_that_was_not_allowed_is_refused_and_writes_nothing(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    r = run_envr("add", "pypi:lockother==2.0", cwd=p, env=env)
    assert r.returncode == 3 and "run 'envr allow'" in r.stderr and "--trust" in r.stderr  # tests/team: why
    assert "lockother" not in (p / "envr.toml").read_text() and not (p / "envr.lock").exists()
    assert "trust: not allowed" in run_envr("status", cwd=p, env=env).stdout


@pytest.mark.parametrize("spec", ["pypi:no-such-package-here", "pypi:lockother==9.9", "cargo:ripgrep", "pypi:"])
def test_add_of_what_does_not_exist_writes_nothing(isolated: Path, wheelhouse: Path, spec: str) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("lock", "--trust", cwd=p, env=env))
    before = {f: (p / f).read_bytes() for f in ("envr.toml", "envr.lock")}
    r = run_envr("add", spec, cwd=p, env=env)
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if not line.startswith("envr: resolving ")]
    assert len(errors) == 1, r.stderr
    assert {f: (p / f).read_bytes() for f in before} == before
    assert sorted(os.listdir(p)) == sorted(["envr.toml", "envr.lock", "tools", "greet-src"])  # no temp files left


def test_init_writes_a_commented_allowed_starter_and_refuses_to_overwrite(isolated: Path) -> None:
    d = isolated / "new"
    d.mkdir()
    r = ok(run_envr("init", cwd=d))
    assert "wrote and allowed" in r.stderr
    text = (d / "envr.toml").read_text()
    assert text.startswith("# envr.toml") and "[packages]" in text
    assert "trust: allowed" in ok(run_envr("status", cwd=d)).stdout
    # the starter is the current format: what the README adds next (a dotenv list) needs no version change
    (d / ".env").write_text("FROM_DOTENV=1\n")
    (d / "envr.toml").write_text(text.replace("[env]", 'dotenv = [".env"]\n\n[env]', 1))
    ok(run_envr("allow", cwd=d))
    assert json.loads(ok(run_envr("export", "json", cwd=d)).stdout)["FROM_DOTENV"] == "1"
    (d / "envr.toml").write_text("version = 1\n# mine\n")
    r = run_envr("init", cwd=d)
    assert r.returncode == 1 and "already exists" in r.stderr
    assert (d / "envr.toml").read_text() == "version = 1\n# mine\n"


def test_status_and_block_message_say_what_a_pulled_change_did_to_packages(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("lock", "--trust", cwd=p, env=env))
    ok(run_envr("allow", cwd=p, env=env))
    # what a teammate's commit would bring: a new package, one gone, the lock redone (in their clone)
    theirs = isolated / "theirs"
    shutil.copytree(p, theirs)
    text = (theirs / "envr.toml").read_text().replace('tools = { path = "./tools" }\n', "")
    (theirs / "envr.toml").write_text(text + 'other = "pypi:lockother==2.0"\n')
    ok(run_envr("lock", "--trust", cwd=theirs, env=env))
    for name in ("envr.toml", "envr.lock"):  # the pull
        shutil.copyfile(theirs / name, p / name)
    r = run_envr("status", cwd=p, env=env)
    assert "trust: changed since allowed" in r.stdout
    assert "changed since allowed: packages: +other 2.0, -tools " in r.stdout
    r = run_envr("export", "json", cwd=p, env=env)
    assert r.returncode == 3
    assert "run 'envr allow' to trust it (packages: +other 2.0, -tools " in r.stderr
    # an edit that breaks the TOML: status names the syntax error, not "every package removed"
    (p / "envr.toml").write_text((p / "envr.toml").read_text().replace('"pypi:lockother==2.0"', '"pypi:lockother'))
    r = run_envr("status", cwd=p, env=env)
    assert "invalid TOML" in r.stdout and "envr.toml:" in r.stdout
    assert "changed since allowed: packages" not in r.stdout and "-lockdemo" not in r.stdout, r.stdout


# --- team and CI --------------------------------------------------------------------------------------------


def test_git_hook_blocks_a_commit_with_a_stale_lock(isolated: Path, wheelhouse: Path) -> None:
    repo = make_repo(isolated / "repo", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(git("init", "-q", "-b", "main", cwd=repo))
    r = ok(run_envr("git-hook", "install", cwd=repo, env=env))
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK) and str(hook) in r.stderr
    ok(run_envr("lock", "--trust", cwd=repo, env=env))
    ok(git("add", "-A", cwd=repo))
    commit = git("commit", "-q", "-m", "locked", cwd=repo)
    assert commit.returncode == 0, commit.stderr
    (repo / "envr.toml").write_text((repo / "envr.toml").read_text().replace("lockdemo==1.0", "lockdemo>=1"))
    ok(git("add", "envr.toml", cwd=repo))
    commit = git("commit", "-q", "-m", "stale", cwd=repo)
    assert commit.returncode == 1
    assert "envr.lock does not match" in commit.stdout + commit.stderr
    assert "run 'envr lock'" in commit.stderr
    ok(run_envr("lock", "--trust", cwd=repo, env=env))
    ok(git("add", "envr.lock", cwd=repo))
    assert git("commit", "-q", "-m", "relocked", cwd=repo).returncode == 0
    # a different hook already there is not overwritten
    hook.write_text("#!/bin/sh\necho mine\n")
    r = run_envr("git-hook", "install", cwd=repo, env=env)
    assert r.returncode == 1 and "is not envr's hook" in r.stderr
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def test_pre_commit_hooks_yaml_names_the_hook_script() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / ".pre-commit-hooks.yaml").read_text()
    assert "- id: envr-lock-check" in text and "entry: hooks/pre-commit" in text
    assert os.access(root / "hooks" / "pre-commit", os.X_OK)


def test_exec_trust_realises_from_the_lock_and_runs(isolated: Path, wheelhouse: Path) -> None:
    p = make_repo(isolated / "p", with_npm=False)
    env = offline_env(wheelhouse, isolated)
    ok(run_envr("lock", "--trust", cwd=p, env=env))
    ok(run_envr("deny", cwd=p, env=env))
    r = run_envr("exec", ".", "--", "greet", cwd=p, env=env)
    assert r.returncode == 1 and "envr allow" in r.stderr  # never trusted implicitly
    r = ok(run_envr("exec", "--trust", ".", "--", "greet", cwd=p, env=env))
    assert r.stdout.strip() == "built greeting"


def test_export_github_appends_env_and_path_files_that_parse_back(isolated: Path) -> None:
    p = isolated / "p"
    (p / "bin").mkdir(parents=True)
    (p / "tools").mkdir()
    (p / "envr.toml").write_text(
        'version = 1\n[env]\nPLAIN = "a=b c"\nMULTI = "line one\\nline two\\nEOF"\n[path]\nprepend = ["bin", "tools"]\n'
    )
    ok(run_envr("allow", cwd=p))
    gh_env, gh_path = isolated / "gh-env", isolated / "gh-path"
    gh_env.write_text("EARLIER=1\n")
    env = {**os.environ, "GITHUB_ENV": str(gh_env), "GITHUB_PATH": str(gh_path)}
    ok(run_envr("export", "github", cwd=p, env=env))
    parsed = parse_github_env(gh_env.read_text())
    assert parsed["EARLIER"] == "1"
    assert parsed["PLAIN"] == "a=b c"
    assert parsed["MULTI"] == "line one\nline two\nEOF"
    assert parsed["ENVR_ROOT"] == str(p)
    assert "ENVR_STATE" not in parsed
    # the runner prepends each line in turn: the project's first entry must end up first
    lines = gh_path.read_text().splitlines()
    path: list[str] = []
    for line in lines:
        path.insert(0, line)
    assert path == [str(p / "bin"), str(p / "tools")]


def test_export_github_outside_actions_or_untrusted_fails(isolated: Path) -> None:
    p = isolated / "p"
    p.mkdir()
    (p / "envr.toml").write_text('version = 1\n[env]\nA = "1"\n')
    r = run_envr("export", "github", cwd=p, env={k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")})
    assert r.returncode == 1 and "GITHUB_ENV" in r.stderr
    env = {**os.environ, "GITHUB_ENV": str(isolated / "e"), "GITHUB_PATH": str(isolated / "pth")}
    r = run_envr("export", "github", cwd=p, env=env)
    assert r.returncode == 3 and "envr allow" in r.stderr
    assert not (isolated / "e").exists() or (isolated / "e").read_text() == ""


def parse_github_env(text: str) -> dict[str, str]:
    """The runner's reading of $GITHUB_ENV: NAME=value lines and NAME<<DELIM ... DELIM blocks."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            out[name] = value
    return out
