"""A team's first day: the author locks and commits a project with nine tools; fresh teammates clone it, run
`envr allow`, and the hook's first prompt in their real interactive shell realises everything.

Each teammate is new to the machine: own HOME, XDG dirs, uv cache, npm cache and store, so every prompt
starts envr on a cold interpreter with nothing realised. Nine of them (three per shell) make a race that
hits one first prompt in three (such as the uv.find_uv_bin()/sysconfig crash across sync's worker threads
on CPython 3.11) fail this module with a probability above 97%.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dayone_kit import (
    Loopback,
    Teammate,
    author_env,
    clone,
    crashes,
    library_wheel,
    lines_of,
    loopback,
    marker,
    npm_tarball,
    patience,
    publish,
    publish_index,
    sha256,
    tool_tarball,
    tool_wheel,
)

# The loopback server's threads make Python 3.12+ warn about forkpty() in pexpect; its child execs the shell
# at once, touching no lock those threads hold.
pytestmark = [pytest.mark.dayone, pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")]

PYPI_TOOLS = ("dayone-alpha", "dayone-bravo", "dayone-charlie", "dayone-delta", "dayone-echo")
NPM_TOOLS = {"dayone-npm-one": "1.0.0", "dayone-npm-two": "2.0.0"}
URL_TOOL = "dayone-release"
PATH_TOOL = "dayone-scripts"
EXECUTABLES = (*PYPI_TOOLS, *NPM_TOOLS, URL_TOOL, PATH_TOOL)
TEAMMATES = ("bob", "carol", "dave")  # per shell; carol uses the default store under XDG_DATA_HOME


@dataclass
class TeamRepo:
    repo: Path
    index: str
    server: Loopback


@pytest.fixture(scope="module")
def team_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamRepo]:
    """The author's repository: envr.toml and envr.lock with five PyPI tools (one with a dependency) from the
    team's index, two vendored npm tarballs, a release tarball by url and the project's own scripts."""
    tmp = tmp_path_factory.mktemp("team")
    with loopback() as server:
        wheels = tmp / "wheels"
        wheels.mkdir()
        dists = [tool_wheel(wheels, name) for name in PYPI_TOOLS if name != "dayone-bravo"]
        dists.append(library_wheel(wheels, "dayone-lib"))
        dists.append(tool_wheel(wheels, "dayone-bravo", requires=("dayone-lib==1.0",)))
        index = publish_index(server, dists)

        project = tmp / "author" / "webapp"
        (project / "scripts" / "bin").mkdir(parents=True)
        (project / "src" / "deep").mkdir(parents=True)
        (project / "src" / "deep" / "app.py").write_text("print('the app')\n")
        script = project / "scripts" / "bin" / PATH_TOOL
        script.write_text(f"#!/bin/sh\necho {marker(PATH_TOOL)}\n")
        script.chmod(0o755)
        for name, version in NPM_TOOLS.items():
            npm_tarball(project / "vendor", name, version, tmp)
        release = tool_tarball(URL_TOOL)
        url = server.serve(f"/releases/{URL_TOOL}-1.0.tar.gz", release)
        pypi = "".join(f'{name.removeprefix("dayone-")} = "pypi:{name}==1.0"\n' for name in PYPI_TOOLS)
        npm = "".join(
            f'{name.removeprefix("dayone-")} = {{ npm = "./vendor/{name}-{version}.tgz" }}\n'
            for name, version in NPM_TOOLS.items()
        )
        (project / "envr.toml").write_text(
            '[env]\nTEAM = "dayone"\nDATA_DIR = "${ENVR_ROOT}/data"\n\n[packages]\n'
            + pypi
            + npm
            + f'release = {{ url = "{url}", sha256 = "{sha256(release)}", bin = ["*/bin/*"] }}\n'
            + 'scripts = { path = "./scripts" }\n'
        )
        publish(project, author_env(tmp / "author", index))
        yield TeamRepo(project, index, server)


@pytest.mark.parametrize("who", TEAMMATES)
def test_a_fresh_teammate_gets_every_tool_at_the_first_prompt_after_envr_allow(
    team_repo: TeamRepo, kind: str, who: str, tmp_path: Path
) -> None:
    teammate = Teammate(kind, tmp_path, team_repo.index, default_store=who == "carol")
    try:
        checkout = clone(team_repo.repo, tmp_path / "work" / "webapp", teammate.session.env)
        sh = teammate.shell()

        entered = sh.cd(checkout)
        assert [line for line in entered.hook if "envr allow" in line], entered
        with patience(sh):
            allowed = sh.envr("allow")  # the prompt after it realises everything
        transcript = lines_of(entered, allowed)
        shown = "\n".join(transcript)

        assert not crashes(transcript), f"the first prompt crashed: {crashes(transcript)}\n{shown}"
        assert any(line.startswith(f"envr: loaded {checkout}") for line in allowed.hook), shown
        assert sh.var("ENVR_ROOT") == str(checkout), shown
        assert (sh.var("TEAM"), sh.var("DATA_DIR")) == ("dayone", f"{checkout}/data"), shown
        for exe in EXECUTABLES:
            where = sh.run(f"command -v {exe}").out.strip()
            assert where.startswith(f"{teammate.store}/"), f"{exe} is not on PATH from the store: {where!r}\n{shown}"
            ran = sh.run(exe).out
            assert marker(exe) in ran, f"{exe} printed {ran!r}\n{shown}"

        moved = sh.cd(checkout / "src" / "deep")  # moving around inside realises nothing more
        assert not [line for line in moved.hook if "realis" in line or "internal error" in line], moved
        assert sh.var("TEAM") == "dayone"
    finally:
        teammate.close()
