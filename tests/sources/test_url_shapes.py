"""url packages in the shapes people download (issue 10 item 14): wheels, `npm pack` tarballs, release
tarballs with one top-level directory, archives with nothing executable (a warning), renamed executables,
and `envr add url:URL` / `envr shell -p url:URL`, which download once and write the sha256 themselves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envr.store.sources.url import name_from_url
from sources_helpers import HELLO, M, Server, World, error_lines, one_error, serve, sha256, tar_of, url_entry

needs_npm = pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="needs npm")


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


def wheel(name: str, version: str, scripts: dict[str, bytes], entry_points: str = "") -> bytes:
    """A wheel as a build backend writes it (scripts under .data/scripts, as ruff ships its binary)."""
    import io

    buf = io.BytesIO()
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/__init__.py", "")
        for script, data in scripts.items():
            z.writestr(f"{name}-{version}.data/scripts/{script}", data)  # mode 0: installers chmod it
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        if entry_points:
            z.writestr(f"{info}/entry_points.txt", entry_points)
        z.writestr(f"{info}/RECORD", "")
    return buf.getvalue()


def run_tool(world: World, root: Path, *cmd: str) -> str:
    r = world.run("exec", str(root), "--", *cmd, cwd=root)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_wheel_exposes_its_scripts(world: World, server: Server) -> None:
    data = wheel("envrbin", "1.0", {"envrbin": b"#!/bin/sh\necho binary from a wheel\n"})
    url = server.put("envrbin-1.0-py3-none-any.whl", data)
    root = world.project("p", url_entry("envrbin", url, data))
    r = world.run("sync", cwd=root)
    assert r.returncode == 0 and error_lines(r.stderr) == [], r.stderr
    assert run_tool(world, root, "envrbin") == "binary from a wheel\n"


def test_a_wheel_of_entry_points_only_says_to_use_pypi(world: World, server: Server) -> None:
    data = wheel("cow_say", "6.1", {}, "[console_scripts]\ncowsay = cow_say:main\n")
    url = server.put("cow_say-6.1-py3-none-any.whl", data)
    root = world.project("p", url_entry("cowsay", url, data))
    one_error(world.run("sync", cwd=root), "packages.cowsay", url, 'pypi = "cow-say @ URL"')
    assert world.registered() == []
    r = world.run("add", f"url:{url}", cwd=root)
    one_error(r, 'pypi = "cow-say @ URL"')


@needs_npm
def test_an_npm_pack_tarball_exposes_package_bin_by_default(world: World, server: Server, tmp_path: Path) -> None:
    src = tmp_path / "semver-src"
    (src / "bin").mkdir(parents=True)
    (src / "package.json").write_text(
        json.dumps({"name": "semver", "version": "7.6.3", "bin": {"semver": "bin/semver.js"}})
    )
    (src / "bin" / "semver.js").write_text("#!/bin/sh\necho semver 7.6.3\n")
    env = {**os.environ, "npm_config_cache": str(tmp_path / "npm-cache")}
    subprocess.run(
        ["npm", "pack", "--pack-destination", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    data = (tmp_path / "semver-7.6.3.tgz").read_bytes()
    url = server.put("semver-7.6.3.tgz", data)
    root = world.project("p", url_entry("semver", url, data))
    assert world.run("sync", cwd=root).returncode == 0
    assert run_tool(world, root, "semver") == "semver 7.6.3\n"  # named as package.json names it
    # renamed by hand: the table form
    root2 = world.project("q", url_entry("semver", url, data, bin='{ sv = "package/bin/semver.js" }'))
    assert world.run("sync", cwd=root2).returncode == 0
    assert run_tool(world, root2, "sv") == "semver 7.6.3\n"
    # and a plain package/bin/ without package.json's help
    data3 = tar_of([M("package/bin/tool.js", data=b"#!/bin/sh\necho plain\n", mode=0o644)])
    url3 = server.put("plain-1.0.tgz", data3)
    root3 = world.project("r", url_entry("plain", url3, data3))
    assert world.run("sync", cwd=root3).returncode == 0
    assert run_tool(world, root3, "tool.js") == "plain\n"


def test_a_release_tarball_with_one_top_directory_exposes_its_bin(world: World, server: Server) -> None:
    data = tar_of(
        [
            M("node-v22.1.0-linux-x64/bin/node", data=b"#!/bin/sh\necho node v22.1.0\n", mode=0o755),
            M("node-v22.1.0-linux-x64/lib/x.js"),
        ],
        "w:xz",
    )
    url = server.put("node-v22.1.0-linux-x64.tar.xz", data)
    root = world.project("p", url_entry("node", url, data))
    assert world.run("sync", cwd=root).returncode == 0
    assert run_tool(world, root, "node") == "node v22.1.0\n"


def test_a_package_exposing_nothing_says_so_in_one_line(world: World, server: Server) -> None:
    data = tar_of([M("docs/readme.txt"), M("lib/x.so")])
    url = server.put("stuff.tar.gz", data)
    root = world.project("p", url_entry("stuff", url, data))
    r = world.run("sync", cwd=root)
    assert r.returncode == 0, r.stderr
    [line] = error_lines(r.stderr)
    assert "packages.stuff" in line and url in line and "exposes no executable" in line and "bin =" in line


def test_bins_renamed_by_a_table_and_listed_by_globs(world: World, server: Server) -> None:
    data = tar_of([M("pkg-2/tools/a.sh", data=b"#!/bin/sh\necho a\n", mode=0o644), M("pkg-2/tools/b", data=HELLO)])
    url = server.put("pkg.tar.gz", data)
    root = world.project(
        "p",
        "\n".join(
            [
                url_entry("renamed", url, data, bin='{ tool-a = "pkg-2/tools/a.sh", tool-b = "*/tools/b" }'),
                url_entry("listed", url, data, bin='["*/tools/b"]', prefer='["b"]'),
            ]
        ),
    )
    assert world.run("sync", cwd=root).returncode == 0
    assert run_tool(world, root, "tool-a") == "a\n"  # made executable: the archive had it 0644
    assert run_tool(world, root, "tool-b") == "hello from the archive\n"
    assert run_tool(world, root, "b") == "hello from the archive\n"


@pytest.mark.parametrize("value", ['{ "" = "x" }', '{ "a/b" = "x" }', "{ a = 3 }", '{ a = "" }'])
def test_a_bad_bin_table_is_refused_at_allow_with_its_line(world: World, value: str) -> None:
    root = world.tmp / "p"
    root.mkdir()
    (root / "envr.toml").write_text(f"[packages]\n{url_entry('t', 'https://x.example/t.tgz', '0' * 64, bin=value)}\n")
    r = world.run("allow", cwd=root)
    assert r.returncode != 0 and f"{root / 'envr.toml'}:2" in r.stderr and "bin" in r.stderr, r.stderr


def test_a_bin_table_path_must_name_one_file(world: World, server: Server) -> None:
    data = tar_of([M("bin/a", data=HELLO, mode=0o755), M("bin/b", data=HELLO, mode=0o755)])
    url = server.put("two.tar.gz", data)
    root = world.project("p", url_entry("t", url, data, bin='{ x = "bin/*" }'))
    one_error(world.run("sync", cwd=root), "packages.t", "'bin/*'", "exactly one")


def test_envr_add_url_downloads_once_and_writes_the_sha256(world: World, server: Server) -> None:
    data = tar_of([M("rg-14.1.0/bin/rg", data=b"#!/bin/sh\necho ripgrep\n", mode=0o755)])
    url = server.put("ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz", data)
    root = world.project("p", "")
    r = world.run("add", f"url:{url}", cwd=root)
    assert r.returncode == 0, r.stderr
    import tomllib

    assert tomllib.loads((root / "envr.toml").read_text())["packages"] == {
        "ripgrep": {"url": url, "sha256": sha256(data)}
    }
    assert (root / "envr.lock").is_file()
    assert run_tool(world, root, "rg") == "ripgrep\n"
    assert server.requests == ["/ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz"]  # once, into the cache


def test_envr_shell_p_url_runs_the_tool(world: World, server: Server) -> None:
    url = server.put("jq-linux-amd64", b"#!/bin/sh\necho jq here\n")
    r = world.run("shell", "-p", f"url:{url}", "--", "jq", cwd=world.tmp)
    assert r.returncode == 0 and r.stdout == "jq here\n", r.stderr


def test_envr_add_url_that_fails_writes_nothing(world: World, server: Server) -> None:
    root = world.project("p", "")
    before = (root / "envr.toml").read_text()
    url = f"{server.url}/missing.tar.gz"
    one_error(world.run("add", f"url:{url}", cwd=root), url, "404")
    assert (root / "envr.toml").read_text() == before and not (root / "envr.lock").exists()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://x/ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz", "ripgrep"),
        ("https://x/jq-linux-amd64", "jq"),
        ("https://x/jq-1.7.1", "jq"),
        ("https://x/node-v22.1.0-linux-x64.tar.xz", "node"),
        ("https://x/shellcheck-v0.10.0.linux.x86_64.tar.xz", "shellcheck"),
        ("https://x/git-lfs-linux-amd64-v3.4.0.tar.gz", "git-lfs"),
        ("https://x/semver-7.6.3.tgz", "semver"),
        ("https://x/black-24.8.0-py3-none-any.whl", "black"),
        ("https://x/Cow_Say-6.1-py3-none-any.whl", "cow-say"),
        ("https://x/kubectl", "kubectl"),
        ("https://x/dl/tool%20x.zip?token=1", "tool-x"),
        ("https://x/v1.2.3.tar.gz", "v1.2.3"),
    ],
)
def test_names_from_urls(url: str, name: str) -> None:
    assert name_from_url(url) == name
