"""Every bad input fails with one clear line (a build failure adds its log tail), a non-zero exit, and nothing
half-written in the store."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from store_helpers import HELLO, Server, run_envr, server, store_entries, tar_bytes, write_project, zip_bytes

__all__ = ["server"]


def sync_fails(root: Path, store: Path) -> str:
    r = run_envr("sync", cwd=root)
    assert r.returncode != 0
    assert store_entries(store) == [], "nothing may be left in the store"
    assert run_envr("store", "ls", cwd=root).stdout == ""
    return r.stderr


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if "realising" not in line]
    assert len(errors) == 1, stderr
    return errors[0]


def test_wrong_sha256_names_the_package_both_hashes_and_the_url(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    wrong = "0" * 64
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{wrong}" }}')
    line = one_line(sync_fails(root, isolated / "store"))
    assert "hello" in line and wrong in line and sha in line and url in line


def test_http_error_names_the_url_and_status(isolated: Path, server: Server) -> None:
    url = f"{server.url}/nothing-here.tar.gz"
    root = write_project(isolated / "p", f'x = {{ url = "{url}", sha256 = "{"1" * 64}" }}')
    line = one_line(sync_fails(root, isolated / "store"))
    assert url in line and "404" in line


def test_unreachable_url_names_the_url(isolated: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.tar.gz"
    root = write_project(isolated / "p", f'x = {{ url = "{url}", sha256 = "{"1" * 64}" }}')
    line = one_line(sync_fails(root, isolated / "store"))
    assert url in line and "refused" in line.lower()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("dotdot.tar.gz", tar_bytes({"../evil": (b"x", 0o644)})),
        ("abs.tar.gz", tar_bytes({"/tmp/evil": (b"x", 0o644)})),
        ("link.tar.gz", tar_bytes({"bin/ok": (HELLO, 0o755)}, links={"bin/esc": "../../../etc/passwd"})),
        ("abslink.tar.gz", tar_bytes({}, links={"bin/esc": "/etc/passwd"})),
        ("dotdot.zip", zip_bytes({"../evil": (b"x", 0o644)})),
    ],
    ids=lambda v: v if isinstance(v, str) else "",  # gzip bytes carry a timestamp: xdist workers must agree
)
def test_archive_escaping_the_output_is_refused(isolated: Path, server: Server, name: str, data: bytes) -> None:
    url, sha = server.put(name, data)
    root = write_project(isolated / "p", f'x = {{ url = "{url}", sha256 = "{sha}" }}')
    line = one_line(sync_fails(root, isolated / "store"))
    assert "escapes the output" in line
    assert not (isolated / "evil").exists()


def test_build_failure_shows_exit_code_log_tail_and_log_path(isolated: Path) -> None:
    src = isolated / "src"
    src.mkdir()
    (src / "f").write_text("x")
    script = "for i in $(seq 1 30); do echo line$i; done; exit 3"
    root = write_project(isolated / "p", f'broken = {{ path = "{src}", build = "{script}" }}')
    err = sync_fails(root, isolated / "store")
    assert "build of broken failed with exit code 3" in err
    assert "line30" in err and "line11" in err and "line10\n" not in err
    log = err.split("full log: ")[1].split()[0]
    assert Path(log).is_file() and log.startswith(str(isolated / "state" / "envr" / "logs"))
    assert "line1\n" in Path(log).read_text()


def test_missing_path_is_one_line(isolated: Path) -> None:
    root = write_project(isolated / "p", 'gone = { path = "./does-not-exist" }')
    line = one_line(sync_fails(root, isolated / "store"))
    assert "does-not-exist does not exist" in line and "envr.toml" in line


def test_bin_glob_matching_nothing_is_refused(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'h = {{ url = "{url}", sha256 = "{sha}", bin = ["nope/*"] }}')
    assert "matched no file" in one_line(sync_fails(root, isolated / "store"))


def test_sync_refuses_a_project_that_is_not_allowed(isolated: Path, server: Server) -> None:
    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'h = {{ url = "{url}", sha256 = "{sha}" }}')
    with open(root / "envr.toml", "a") as f:
        f.write("# changed\n")
    r = run_envr("sync", cwd=root)
    assert r.returncode == 3 and "run 'envr allow'" in r.stderr
    assert server.requests == []


def _nobody_prefix() -> list[str] | None:
    if os.geteuid() != 0:
        return None
    try:
        import pwd

        pwd.getpwnam("nobody")
    except KeyError:
        return None
    for tool in ("/usr/bin/setpriv", "/bin/setpriv"):
        if os.path.exists(tool):
            return [tool, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    return None


@pytest.mark.skipif(_nobody_prefix() is None, reason="needs root and a 'nobody' user with setpriv to drop to")
def test_store_paths_cannot_be_modified_by_their_owner(isolated: Path, server: Server) -> None:
    """Root ignores permission bits, so the store is handed to nobody, who then tries to change it."""
    import shutil
    import tempfile

    url, sha = server.put("hello.tar.gz", tar_bytes({"bin/hello": (HELLO, 0o755)}))
    root = write_project(isolated / "p", f'hello = {{ url = "{url}", sha256 = "{sha}" }}')
    shared = Path(tempfile.mkdtemp(prefix="envr-store-test-"))
    try:
        shared.chmod(0o755)
        store = shared / "store"
        r = run_envr("sync", cwd=root, env={**os.environ, "ENVR_STORE": str(store)})
        assert r.returncode == 0, r.stderr
        (name,) = store_entries(store)
        subprocess.run(["chown", "-R", "-h", "nobody:nogroup", str(store)], check=True)
        path = store / name
        prefix = _nobody_prefix()
        assert prefix is not None
        for attempt in (
            f"echo x >> {path}/bin/hello",
            f"touch {path}/new",
            f"rm -f {path}/bin/hello",
            f"touch {path}/bin/new",
        ):
            r2 = subprocess.run([*prefix, "sh", "-c", attempt], capture_output=True, text=True)
            assert r2.returncode != 0, f"nobody could: {attempt}"
        assert (path / "bin" / "hello").read_bytes() == HELLO
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(shared)], check=False)
        shutil.rmtree(shared, ignore_errors=True)


def test_sync_names_every_package_it_cannot_name_and_realises_the_rest(isolated: Path) -> None:
    """Two path packages whose directories are gone and one that is there: one line for each broken one, a
    non-zero exit, and the good one realised (a new user's trial saw only the first of two failures)."""
    (isolated / "p" / "good").mkdir(parents=True)
    (isolated / "p" / "good" / "ok").write_text("#!/bin/sh\necho ok\n")
    (isolated / "p" / "good" / "ok").chmod(0o755)
    root = write_project(
        isolated / "p",
        'good = { path = "./good", bin = ["ok"] }\nlost1 = { path = "./lost1" }\nlost2 = { path = "./lost2" }',
    )
    r = run_envr("sync", cwd=root)
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if "realis" not in line]
    assert len(errors) == 2 and "lost1" in errors[0] and "lost2" in errors[1], r.stderr
    assert any(
        line.split()[:1] == ["good"] and "realised" in line for line in run_envr("ls", cwd=root).stdout.splitlines()
    )
