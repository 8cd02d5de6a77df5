"""url downloads against loopback servers that are slow, silent, trickling, failing or cut short (D8): every
network step has a deadline, each failure is one line naming the package and the URL, nothing is registered,
and Ctrl-C (SIGINT to the process group, as a terminal sends it) ends `envr sync` and the prompt's auto-sync
at once, even though downloads run in worker threads."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sources_helpers import HELLO, Server, World, one_error, serve, silent_port, tar_of, url_entry, wait_for
from sources_helpers import M as Member

DATA = tar_of([Member("bin/hello", data=HELLO, mode=0o755), Member("share/blob", data=os.urandom(200_000))])


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


def nothing_registered(world: World) -> None:
    assert world.registered() == []
    assert [p for p in world.store.iterdir() if not p.name.startswith(".")] == [] if world.store.exists() else True
    downloads = world.tmp / "cache" / "envr" / "downloads"
    assert not downloads.exists() or os.listdir(downloads) == []


def test_a_slow_server_still_delivers(world: World, server: Server) -> None:
    url = server.put("slow.tar.gz", DATA, "slow")
    root = world.project("p", url_entry("t", url, DATA))
    r = world.run("sync", cwd=root, extra={"ENVR_HTTP_TIMEOUT": "5"})
    assert r.returncode == 0, r.stderr
    assert world.run("exec", str(root), "--", "hello", cwd=root).stdout == "hello from the archive\n"


def test_a_server_that_never_answers_times_out_in_one_line(world: World) -> None:
    with silent_port() as base:
        url = f"{base}/x.tar.gz"
        root = world.project("p", url_entry("t", url, DATA))
        r = world.run("sync", cwd=root, extra={"ENVR_HTTP_TIMEOUT": "1.5"}, timeout=60)
    one_error(r, "packages.t", url, "no data for 1.5 s", "ENVR_HTTP_TIMEOUT")
    nothing_registered(world)


def test_a_request_that_hangs_after_the_connection_times_out(world: World, server: Server) -> None:
    url = server.put("hang.tar.gz", DATA, "hang")
    root = world.project("p", url_entry("t", url, DATA))
    one_error(world.run("sync", cwd=root, extra={"ENVR_HTTP_TIMEOUT": "1"}, timeout=60), url, "ENVR_HTTP_TIMEOUT")
    assert server.requests == ["/hang.tar.gz"]  # a timeout is not retried
    nothing_registered(world)


@pytest.mark.parametrize("how", ["trickle", "trickle-head"])
def test_a_trickling_server_is_cut_off_by_the_deadline(world: World, server: Server, how: str) -> None:
    url = server.put("trickle.tar.gz", DATA, how)
    root = world.project("p", url_entry("t", url, DATA))
    r = world.run("sync", cwd=root, extra={"ENVR_HTTP_DEADLINE": "3"}, timeout=60)
    one_error(r, "packages.t", url, "not finished after 3 s", "ENVR_HTTP_DEADLINE=3")
    nothing_registered(world)


@pytest.mark.parametrize("how", ["trickle", "trickle-head"])
def test_a_trickle_below_1_kib_per_timeout_is_a_stall(world: World, server: Server, how: str) -> None:
    url = server.put("trickle.tar.gz", DATA, how)
    root = world.project("p", url_entry("t", url, DATA))
    r = world.run("sync", cwd=root, extra={"ENVR_HTTP_TIMEOUT": "2"}, timeout=60)
    one_error(r, "packages.t", url, "in 2 s, taken as stalled", "ENVR_HTTP_TIMEOUT")
    nothing_registered(world)


def test_http_500_is_retried_then_one_line(world: World, server: Server) -> None:
    url = server.put("boom.tar.gz", DATA, "500")
    root = world.project("p", url_entry("t", url, DATA))
    one_error(world.run("sync", cwd=root), "packages.t", url, "HTTP 500")
    assert server.requests == ["/boom.tar.gz"] * 3
    nothing_registered(world)


def test_a_body_cut_short_is_retried_then_one_line(world: World, server: Server) -> None:
    url = server.put("short.tar.gz", DATA, "short")
    root = world.project("p", url_entry("t", url, DATA))
    one_error(world.run("sync", cwd=root), "packages.t", url, f"of {len(DATA):,} bytes")
    assert len(server.requests) == 3
    nothing_registered(world)


def test_a_refused_connection_is_one_line(world: World) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.tar.gz"
    root = world.project("p", url_entry("t", url, DATA))
    one_error(world.run("sync", cwd=root), "packages.t", url, "refused")


@pytest.mark.parametrize("scheme", ["file", "ftp"])
def test_a_redirect_to_anything_but_http_is_refused(world: World, tmp_path: Path, scheme: str) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    (tmp_path / "local.tar.gz").write_bytes(DATA)
    location = (tmp_path / "local.tar.gz").as_uri() if scheme == "file" else "ftp://127.0.0.1:9/x.tar.gz"

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/x.tar.gz"
        root = world.project("p", url_entry("t", url, DATA))
        line = one_error(world.run("sync", cwd=root), "packages.t", url, location)
        assert "not allowed" in line or "refused" in line
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("var", "value"), [("ENVR_HTTP_TIMEOUT", "soon"), ("ENVR_HTTP_DEADLINE", "-1")])
def test_a_bad_setting_is_one_line(world: World, server: Server, var: str, value: str) -> None:
    url = server.put("ok.tar.gz", DATA)
    root = world.project("p", url_entry("t", url, DATA))
    one_error(world.run("sync", cwd=root, extra={var: value}), var, repr(value))


def interrupt_when_requested(
    world: World, server: Server, args: tuple[str, ...], root: Path, n: int
) -> tuple[int, str]:
    proc = world.popen(*args, cwd=root)
    try:
        assert wait_for(lambda: len(server.requests) >= n, 30), "the downloads never started"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        _, err = proc.communicate(timeout=30)  # generous: it must simply end, not wait out the timeouts
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, err


@pytest.mark.parametrize("how", ["hang", "trickle"])
def test_ctrl_c_stops_envr_sync_while_downloads_run_in_worker_threads(world: World, server: Server, how: str) -> None:
    entries = [
        url_entry(f"t{i}", server.put(f"t{i}.tar.gz", DATA + bytes([i]), how), DATA + bytes([i])) for i in range(3)
    ]
    root = world.project("p", "\n".join(entries))
    code, err = interrupt_when_requested(world, server, ("sync",), root, 3)
    assert code != 0, err
    assert "internal error" not in err and "Traceback" not in err, err
    nothing_registered(world)


def test_ctrl_c_during_the_prompts_auto_sync_ends_the_core(world: World, server: Server) -> None:
    url = server.put("hang.tar.gz", DATA, "hang")
    root = world.project("p", url_entry("t", url, DATA), env_section='[env]\nX = "1"\n')
    _, err = interrupt_when_requested(world, server, ("export", "bash"), root, 1)
    assert "interrupted before t was realised" in err, err
    assert "Traceback" not in err
    nothing_registered(world)
