"""A project through five generations in a real hooked bash: rollback and switch show at the next prompt."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gc_helpers import ok, run_envr, tool_dir, write_project
from shellkit import Session, Shell

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@pytest.fixture
def bash(isolated: Path) -> Iterator[Shell]:
    session = Session.following_environ("bash", isolated)
    try:
        yield session.shell()
    finally:
        session.close()


def _new_version(project: Path, version: str, extra: str = "") -> None:
    time.sleep(0.01)
    write_project(project, version, extra, allow=False)


def _says(sh: Shell, line: str, text: str) -> list[str]:
    """Run line; assert text is in what it printed; return the hook's lines after it."""
    res = sh.run(line)
    assert text in res.out, res
    return res.hook


def test_five_generations_rollback_and_switch_at_the_next_prompt(isolated: Path, bash: Shell) -> None:
    project = isolated / "proj"
    write_project(project, "1", allow=False)
    _says(bash, f"cd {bash.q(project)} && envr allow", "allowed")
    _says(bash, "tool", "tool 1")
    for v in ("2", "3", "4", "5"):
        _new_version(project, v, '[env]\nGREETING = "hi"\n' if v == "4" else "")
        _says(bash, "envr allow", "allowed")
        _says(bash, "tool", f"tool {v}")
    listing = bash.run("envr generations").out
    assert "(current)" in listing and "+tool 5  -tool 4" in listing and "+GREETING" in listing
    assert bash.var("GREETING") is None  # 5 dropped it again

    hook = _says(bash, "envr rollback", "rolled back to generation 4")
    assert any("pinned to older generation 4 (latest 5)" in line for line in hook), hook  # the next prompt says so
    _says(bash, "tool", "tool 4")
    assert bash.var("GREETING") == "hi"
    _says(bash, "envr status", "pinned older generation 4 (latest 5)")

    _says(bash, "envr switch-generation 2", "switched to generation 2")
    _says(bash, "tool", "tool 2")
    _says(bash, "envr switch-generation 9", "has no generation 9")
    assert bash.status() == 1
    _says(bash, "tool", "tool 2")  # nothing changed
    _says(bash, "envr generations --delete 2", "cannot be deleted")
    assert bash.status() == 1
    _says(bash, "envr rollback", "generation 1")
    _says(bash, "tool", "tool 1")
    _says(bash, "envr rollback", "nothing to roll back to")
    assert bash.status() == 1

    _says(bash, "envr sync", "unpinned")
    _says(bash, "tool", "tool 5")
    _says(bash, "envr generations --keep-last 2", "deleted 3 generations")
    _says(bash, "envr switch-generation 2", "has no generation 2")
    bash.cd("..")  # the hook runs at the next prompt, not within the line that changed directory
    _says(bash, "type tool || echo GONE", "GONE")


def test_the_profile_is_on_path_after_project_entries_and_a_rollback_shows_at_the_next_prompt(
    isolated: Path, bash: Shell
) -> None:
    hello1 = tool_dir(isolated / "hello1" / "bin", "hello", "1").parent  # path: DIR exposes DIR/bin/*
    hello2 = tool_dir(isolated / "hello2" / "bin", "hello", "2").parent
    ok("profile", "install", f"path:{hello1}", cwd=isolated)
    project = write_project(isolated / "proj", "1")
    tool_dir(isolated / "other" / "bin", "tool", "profile")
    ok("profile", "install", f"path:{isolated / 'other'}", cwd=isolated)
    bash.enter()  # installed from outside this shell: its next prompt notices the new profile
    _says(bash, "hello", "hello 1")
    ok("profile", "install", f"hello1=path:{hello2}", cwd=isolated)  # same name: replaced
    _says(bash, "hello", "hello 2")  # no reload needed: PATH names the profile's current link
    _says(bash, "tool", "tool profile")
    assert any("loaded" in line for line in bash.cd(project).hook)
    _says(bash, "tool", "tool 1")  # the project's entry comes before the profile's
    _says(bash, "hello", "hello 2")
    ok("profile", "rollback", cwd=isolated)
    _says(bash, "hello", "hello 1")
    assert any("unloaded" in line for line in bash.cd("..").hook)
    _says(bash, "tool", "tool profile")
    assert sum("profile/current/bin" in entry for entry in bash.path()) == 1  # once, however many reloads
    assert run_envr("profile", "list", cwd=isolated).stdout.count("path:") == 2


def test_a_project_loaded_with_a_package_missing_roots_what_it_loaded(isolated: Path, bash: Shell) -> None:
    """A url that cannot be fetched leaves the project partly loaded: the tool that did realise is on the
    shell's PATH, so the generation entering records roots it and gc keeps it (a new user's trial saw gc
    delete it: a project with anything missing recorded no generation)."""
    project = isolated / "partial"
    write_project(project, "1", allow=False)
    with (project / "envr.toml").open("a") as f:
        f.write(f'gone = {{ url = "http://127.0.0.1:9/gone.tar.gz", sha256 = "{"0" * 64}" }}\n')
        f.write('go = "go:1.22"\n')  # unlocked, its index never downloaded: the prompt does not fetch it
    said = bash.run(f"cd {bash.q(project)} && envr allow")
    assert any("missing: gone" in line for line in said.hook), said
    assert any("go: https://go.dev/dl/" in line and "not downloaded yet" in line for line in said.hook), said
    assert not any("synced" in line for line in said.hook), said  # the url failed and go was never tried
    assert "tool 1" in bash.run("tool").out
    assert "(current)" in bash.run("envr generations").out
    bash.run("cd /")
    r = ok("gc", cwd=isolated)
    assert "deleted 0 store paths" in r.stderr, r.stderr
    bash.cd(project)
    _says(bash, "tool", "tool 1")


def test_the_prompts_sync_line_names_only_what_it_realised(isolated: Path, bash: Shell) -> None:
    """A new user's trial read 'synced node, python, go' while python and go could not be had."""
    project = isolated / "half"
    write_project(project, "1", allow=False)
    with (project / "envr.toml").open("a") as f:
        f.write('go = "go:1.22"\n')
    said = bash.run(f"cd {bash.q(project)} && envr allow")
    synced = [line for line in said.hook if "synced" in line]
    assert len(synced) == 1 and synced[0].startswith("envr: synced tool in "), said
    assert "tool 1" in bash.run("tool").out
