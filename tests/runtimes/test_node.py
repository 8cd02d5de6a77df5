"""node runtimes from a loopback mirror in nodejs.org's layout, serving this machine's node (repacked)."""

from __future__ import annotations

import tomllib

from runtime_kit import NodeMirror
from sources_helpers import World, one_error


def env_of(mirror: NodeMirror, **extra: str) -> dict[str, str]:
    return {"ENVR_NODE_MIRROR": mirror.root, **extra}


def test_node_realises_from_the_mirror_and_runs_from_its_store_path(world: World, node_mirror: NodeMirror) -> None:
    major = node_mirror.real.split(".")[0]
    root = world.allowed_project("a", f'[packages]\nnode = "node:{major}"\n')
    r = world.run("sync", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    r = world.run(
        "exec", str(root), "--", "sh", "-c", "command -v node; node --version", cwd=world.tmp, extra=env_of(node_mirror)
    )
    assert r.returncode == 0, r.stderr
    where, said = r.stdout.split()
    assert where.startswith(str(world.store) + "/") and f"-node-{node_mirror.real}/" in where
    assert said == f"v{node_mirror.real}"


def test_two_projects_pinning_one_node_share_its_store_path_and_the_second_downloads_nothing(
    world: World, node_mirror: NodeMirror
) -> None:
    real, major = node_mirror.real, node_mirror.real.split(".")[0]
    a = world.allowed_project("a", f'[packages]\nnode = "node:{major}"\n')
    b = world.allowed_project("b", f'[packages]\nnode = {{ node = "{real}" }}\n')  # another spelling, same build
    assert world.run("sync", cwd=a, extra=env_of(node_mirror)).returncode == 0
    assert len(node_mirror.archive_requests()) == 1
    r = world.run("sync", cwd=b, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    assert "present" in r.stdout
    pa = world.run("store", "path", "node", cwd=a, extra=env_of(node_mirror)).stdout.strip()
    pb = world.run("store", "path", "node", cwd=b, extra=env_of(node_mirror)).stdout.strip()
    assert pa == pb and pa
    assert len(node_mirror.archive_requests()) == 1  # the second realisation downloaded nothing


def test_locking_every_platform_downloads_no_archive(world: World, node_mirror: NodeMirror) -> None:
    newer = next(v for v in node_mirror.versions if v.endswith(".3.0"))
    major = newer.split(".")[0]
    root = world.allowed_project(
        "p",
        'platforms = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"]\n'
        f'[packages]\nnode = "node:{major}"\nlts = "node:lts"\n',
    )
    r = world.run("lock", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    lock = tomllib.loads((root / "envr.lock").read_text())
    entry = lock["packages"]["node"]
    assert entry["version"] == newer and entry["request"] == major
    for p in ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"):
        assert entry[p]["url"] == f"{node_mirror.root}/v{newer}/node-v{newer}-{p}.tar.gz"
        assert len(entry[p]["sha256"]) == 64
    assert lock["packages"]["lts"]["version"] == newer  # the newest LTS
    assert node_mirror.archive_requests() == []
    assert world.run("lock", "--check", cwd=root).returncode == 0


def test_a_lock_made_for_other_platforms_is_stale_when_platforms_change(world: World, node_mirror: NodeMirror) -> None:
    root = world.allowed_project("p", 'platforms = ["darwin-arm64"]\n[packages]\nnode = "node:lts"\n')
    assert world.run("lock", cwd=root, extra=env_of(node_mirror)).returncode == 0
    (root / "envr.toml").write_text('platforms = ["darwin-arm64", "linux-arm64"]\n[packages]\nnode = "node:lts"\n')
    assert world.run("allow", cwd=root).returncode == 0
    r = world.run("lock", "--check", cwd=root)
    assert r.returncode == 1
    r = world.run("lock", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    assert set(tomllib.loads((root / "envr.lock").read_text())["packages"]["node"]) >= {"darwin-arm64", "linux-arm64"}


def test_a_version_that_does_not_exist_names_the_newest_that_do(world: World, node_mirror: NodeMirror) -> None:
    root = world.allowed_project("p", '[packages]\nnode = "node:7"\n')
    line = one_error(world.run("lock", cwd=root, extra=env_of(node_mirror)), "no version 7", "the newest are")
    for version in node_mirror.versions:
        if not version.endswith(".1.0") or version.startswith(str(int(node_mirror.real.split(".")[0]) + 3)):
            assert version in line or version.endswith(".1.0")


def test_resolving_from_a_cached_index_works_offline(world: World, node_mirror: NodeMirror) -> None:
    major = node_mirror.real.split(".")[0]
    root = world.allowed_project("p", f'[packages]\nnode = "node:{major}"\n')
    assert world.run("lock", cwd=root, extra=env_of(node_mirror)).returncode == 0  # downloads the index
    r = world.run("store", "path", "node", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    online = r.stdout.strip()
    (root / "envr.lock").unlink()  # unlocked: the store path is named from the index
    world.run("allow", cwd=root)
    node_mirror.server.files.clear()  # the mirror is gone
    offline = world.run("store", "path", "node", cwd=root, extra=env_of(node_mirror, ENVR_HTTP_TIMEOUT="2"))
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip() == online
    r = world.run("lock", cwd=root, extra=env_of(node_mirror, ENVR_HTTP_TIMEOUT="2"))
    assert r.returncode == 0, r.stderr  # the cached index (and SHASUMS256.txt) are enough to lock


def test_version_files(world: World, node_mirror: NodeMirror) -> None:
    major = node_mirror.real.split(".")[0]
    root = world.tmp / "vf"
    root.mkdir(parents=True)
    (root / ".nvmrc").write_text(f"v{major}\n")
    (root / ".tool-versions").write_text(f"python 3.12.1\nnodejs {node_mirror.real}\n")
    world.allowed_project("vf", '[packages]\nnodejs = { version-file = ".tool-versions" }\n')
    r = world.run("lock", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr  # its nodejs line, not its python line
    assert tomllib.loads((root / "envr.lock").read_text())["packages"]["nodejs"]["version"] == node_mirror.real
    (root / "envr.toml").write_text('[packages]\nnode = { version-file = ".nvmrc" }\n')
    assert world.run("allow", cwd=root).returncode == 0
    r = world.run("lock", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    assert tomllib.loads((root / "envr.lock").read_text())["packages"]["node"]["version"] == node_mirror.real
    (root / ".nvmrc").write_text("lts/iron\n")
    r = world.run("lock", "--check", cwd=root)
    assert r.returncode == 1 and "node lts is asked for" in r.stdout + r.stderr


def test_a_version_file_with_garbage_is_one_line_naming_it(world: World, node_mirror: NodeMirror) -> None:
    root = world.tmp / "g"
    root.mkdir(parents=True)
    (root / ".nvmrc").write_text("\n# pinned\nbanana; rm -rf /\n")
    world.allowed_project("g", '[packages]\nnode = { version-file = ".nvmrc" }\n')
    line = one_error(world.run("lock", cwd=root, extra=env_of(node_mirror)), f"{root / '.nvmrc'}:3", "not a version")
    assert "banana" in line


def test_a_tampered_archive_names_both_hashes(world: World, node_mirror: NodeMirror) -> None:
    real = node_mirror.real
    name = f"node/v{real}/node-v{real}-linux-x64.tar.gz"
    good = node_mirror.server.files[f"/{name}"]
    node_mirror.server.files[f"/{name}"] = good[:-100] + b"\0" * 100
    root = world.allowed_project("t", f'[packages]\nnode = "node:{real}"\n')
    from runtime_kit import sha

    one_error(
        world.run("sync", cwd=root, extra=env_of(node_mirror)),
        "sha256 mismatch",
        sha(good),
        sha(good[:-100] + b"\0" * 100),
    )
    assert world.registered() == []


def test_a_mirror_whose_index_lies_is_refused(world: World, node_mirror: NodeMirror) -> None:
    lie = f"{int(node_mirror.real.split('.')[0]) + 1}.0.0"  # listed, but its archive is the real node
    node_mirror.versions[lie] = ["linux-x64"]
    node_mirror.publish()
    name = f"node-v{lie}-linux-x64.tar.gz"
    data = node_mirror.tarball  # its top directory and its node say the real version
    node_mirror.server.put(f"node/v{lie}/{name}", data)
    from runtime_kit import sha

    node_mirror.server.put(f"node/v{lie}/SHASUMS256.txt", f"{sha(data)}  {name}\n".encode())
    root = world.allowed_project("l", f'[packages]\nnode = "node:{lie}"\n')
    one_error(world.run("sync", cwd=root, extra=env_of(node_mirror)), f"not v{lie}", "lies")
    assert world.registered() == []


def test_a_shasums_file_with_a_wrong_line_is_refused(world: World, node_mirror: NodeMirror) -> None:
    real = node_mirror.real
    key = f"/node/v{real}/SHASUMS256.txt"
    node_mirror.server.files[key] = node_mirror.server.files[key] + b"deadbeef node-v1.tar.gz\n"
    root = world.allowed_project("s", f'[packages]\nnode = "node:{real}"\n')
    one_error(world.run("lock", cwd=root, extra=env_of(node_mirror)), "SHASUMS256.txt line 2", "deadbeef")


def test_a_platform_missing_from_the_lock_says_how_to_add_it(world: World, node_mirror: NodeMirror) -> None:
    root = world.allowed_project("m", 'platforms = ["darwin-arm64"]\n[packages]\nnode = "node:lts"\n')
    assert world.run("lock", cwd=root, extra=env_of(node_mirror)).returncode == 0
    assert world.run("lock", "--check", cwd=root).returncode == 0  # what platforms lists is what is locked
    one_error(
        world.run("sync", cwd=root, extra=env_of(node_mirror)),
        "envr.lock has no linux-x64 build of node",
        "add 'linux-x64' to platforms",
    )
    assert node_mirror.archive_requests() == []


def test_reporting_commands_never_download_an_index_and_sync_does(world: World, node_mirror: NodeMirror) -> None:
    """An unlocked runtime names its store path from the mirror's index. status, ls and store path read only
    what is cached (the README: no network); envr sync downloads it, and then they answer offline."""
    major = node_mirror.real.split(".")[0]
    root = world.allowed_project("r", f'[packages]\nnode = "node:{major}"\n')
    before = len(node_mirror.server.requests)
    for args in (("ls",), ("store", "path", "node"), ("status",)):
        r = world.run(*args, cwd=root, extra=env_of(node_mirror))
        assert "is not downloaded yet" in r.stdout + r.stderr and "envr sync" in r.stdout + r.stderr, (args, r)
    assert len(node_mirror.server.requests) == before
    r = world.run("sync", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0, r.stderr
    node_mirror.server.files.clear()  # the mirror has nothing more to give: the cached index answers
    after = len(node_mirror.server.requests)
    r = world.run("store", "path", "node", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0 and f"-node-{node_mirror.real}" in r.stdout, r.stderr
    r = world.run("ls", cwd=root, extra=env_of(node_mirror))
    assert r.returncode == 0 and node_mirror.real in r.stdout, r.stderr
    assert len(node_mirror.server.requests) == after
