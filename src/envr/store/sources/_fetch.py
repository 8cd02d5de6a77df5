"""Downloads for url entries, each step with a deadline, and stopping at once on Ctrl-C.

- ENVR_HTTP_TIMEOUT (seconds, default 30): the longest wait for a connection (name lookup included) and,
  once connected, for the next byte of the response: a server that accepts and never answers fails after it.
  A connection delivering less than 1 KiB in any such window (headers included) is stalled too, so a
  server trickling a byte a second is cut off after ENVR_HTTP_TIMEOUT seconds.
- ENVR_HTTP_DEADLINE (seconds, default 600): the longest one download may take, retries included, however
  fast it trickles. Raise it for very large files on slow links.
- Connection failures, HTTP 5xx and 429 and a body cut short are retried (3 attempts in all, with a short
  backoff); a timeout, the deadline, any other HTTP error and file:// failures are not.

Sockets wait in slices of a quarter second, so a download running in a worker thread notices interrupt()
(base.py: Ctrl-C in the main thread) at once; the socket classes below retry a timed-out slice instead of
letting http.client see it, which is what keeps a slice from breaking the connection. TLS uses Python's
default context, which trusts the system's certificate store (and SSL_CERT_FILE / SSL_CERT_DIR); proxies
come from the usual *_proxy variables. Only http and https redirects are followed.
"""

from __future__ import annotations

import errno
import http.client
import os
import select
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from envr.errors import EnvrError
from envr.store.sources import base

ATTEMPTS = 3
SLICE = 0.25  # how long any one wait blocks before the deadlines and Ctrl-C are checked again
CHUNK = 1 << 16
MIN_BYTES = 1024  # a connection delivering less than this per ENVR_HTTP_TIMEOUT seconds is stalled

_local = threading.local()  # the _Guard of the download this thread is running


class FetchError(EnvrError):
    pass


class _Final(FetchError):
    """A failure that another attempt would not fix (a timeout, the deadline)."""


class _Guard:
    """The deadlines of one download: checked after every received chunk and every empty slice."""

    def __init__(self, url: str, timeout: float, deadline: float) -> None:
        self.url = url
        self.timeout = timeout
        self.deadline = deadline
        self.started = time.monotonic()
        self.last = self.started  # when a byte last arrived (or the current wait began)
        self.window = self.started  # the current ENVR_HTTP_TIMEOUT-long window of the minimum rate
        self.window_bytes = 0
        self.done = 0
        self.total: int | None = None

    def begin_wait(self) -> None:
        self.last = time.monotonic()

    def check(self, waiting: str | None = None) -> None:
        now = time.monotonic()
        base.check_interrupted(f"download of {self.url}")
        if now - self.started > self.deadline:
            got = f"{self.done:,} of {self.total:,}" if self.total else f"{self.done:,}"
            raise _Final(
                f"cannot fetch {self.url}: not finished after {self.deadline:g} s ({got} bytes; the limit is "
                f"ENVR_HTTP_DEADLINE={self.deadline:g})"
            )
        if waiting is not None and now - self.last > self.timeout:
            raise _Final(f"cannot fetch {self.url}: {waiting} for {self.timeout:g} s (ENVR_HTTP_TIMEOUT)")
        if now - self.window >= self.timeout:
            if 0 < self.window_bytes < MIN_BYTES:
                raise _Final(
                    f"cannot fetch {self.url}: only {self.window_bytes} bytes in {self.timeout:g} s, taken as "
                    f"stalled (less than {MIN_BYTES} bytes per ENVR_HTTP_TIMEOUT)"
                )
            if self.window_bytes:
                self.window, self.window_bytes = now, 0

    def received(self, n: int) -> None:
        self.last = time.monotonic()
        self.window_bytes += n
        self.check()


def _guard() -> _Guard | None:
    return getattr(_local, "guard", None)


class _Socket(socket.socket):
    """A socket whose reads wait in slices, checking the download's guard between them."""

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        guard = _guard()
        if guard is None:
            return super().recv_into(buffer, nbytes, flags)
        guard.begin_wait()
        while True:
            try:
                n = super().recv_into(buffer, nbytes, flags)
            except TimeoutError:
                guard.check("no data")
                continue
            guard.received(n)
            return n


class _SSLSocket(ssl.SSLSocket):
    """The same for TLS: a timed-out read or handshake is retried (OpenSSL keeps its state)."""

    def read(self, size: int = 1024, buffer: Any = None) -> Any:
        guard = _guard()
        if guard is None:
            return super().read(size, buffer)
        guard.begin_wait()
        while True:
            try:
                got = super().read(size, buffer)
            except TimeoutError:
                guard.check("no data")
                continue
            guard.received(got if isinstance(got, int) else len(got))
            return got

    def do_handshake(self, block: bool = False) -> None:
        guard = _guard()
        if guard is None:
            super().do_handshake(block)
            return
        guard.begin_wait()
        while True:
            try:
                super().do_handshake(block)
                return
            except TimeoutError:
                guard.check("no TLS handshake")


def _resolve(host: str, port: int, guard: _Guard) -> list[Any]:
    """getaddrinfo in a daemon thread (it cannot be interrupted), waited for in slices."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except OSError as e:
            box["error"] = e
        done.set()

    threading.Thread(target=lookup, name="envr-dns", daemon=True).start()
    guard.begin_wait()
    while not done.wait(SLICE):
        guard.check(f"no address for {host}")
    if "error" in box:
        raise box["error"]
    infos: list[Any] = box["infos"]
    return infos


def _connect(address: tuple[str, int], timeout: Any = None, source_address: Any = None, **_: Any) -> socket.socket:
    """socket.create_connection for http.client: a non-blocking connect, waited for in slices."""
    guard = _guard()
    if guard is None:
        return socket.create_connection(address, timeout, source_address)
    host, port = address
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in _resolve(host, port, guard):
        sock = _Socket(family, kind, proto)
        try:
            sock.setblocking(False)
            err = sock.connect_ex(sockaddr)
            if err not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
                raise OSError(err, os.strerror(err))
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            guard.begin_wait()
            while err and not poller.poll(int(SLICE * 1000)):
                guard.check("no connection")
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            sock.settimeout(SLICE)
            return sock
        except OSError as e:
            sock.close()
            last = e
        except BaseException:
            sock.close()
            raise
    raise last or OSError(f"no address for {host}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=_context())


class _Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, f"redirect to {newurl!r} refused (only http/https)", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_ssl_context: list[Any] = [None]
_opener: list[Any] = [None]


def _make_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # the system's trust store, SSL_CERT_FILE / SSL_CERT_DIR honoured
    context.sslsocket_class = _SSLSocket
    return context


def _context() -> ssl.SSLContext:
    context: ssl.SSLContext = base.once(_make_context, _ssl_context)
    return context


def _make_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _Redirects)


def download(
    url: str, dest: str, environ: Mapping[str, str], progress: Callable[[int, int | None], None] | None = None
) -> str:
    """Fetch url into dest (overwritten); returns the sha256 of what arrived. Raises FetchError or Interrupted."""
    import hashlib

    guard = _Guard(url, base.http_timeout(environ), base.http_deadline(environ))
    opener: urllib.request.OpenerDirector = base.once(_make_opener, _opener)
    previous = _guard()
    _local.guard = guard
    last = ""
    try:
        for attempt in range(ATTEMPTS):
            if attempt:
                base.sleep(0.5 * 2 ** (attempt - 1))
                guard.check()
            h = hashlib.sha256()
            try:
                req = urllib.request.Request(url, headers={"User-Agent": "envr"})
                with opener.open(req, timeout=SLICE) as resp, open(dest, "wb") as f:
                    length = resp.headers.get("Content-Length")
                    guard.total = int(length) if length and length.isdigit() else None
                    guard.done = 0
                    read = getattr(resp, "read1", resp.read)
                    while chunk := read(CHUNK):
                        h.update(chunk)
                        f.write(chunk)
                        guard.done += len(chunk)
                        guard.check()
                        if progress is not None:
                            progress(guard.done, guard.total)
                    guard.check()
                if guard.total is not None and guard.done < guard.total:
                    last = f"the connection closed after {guard.done:,} of {guard.total:,} bytes"
                    continue
                return h.hexdigest()
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code} {e.reason}"
                if e.code < 500 and e.code != 429:
                    break
            except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
                reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e) or type(e).__name__
                if isinstance(reason, _Final | base.Interrupted):
                    raise reason from None
                last = str(reason)
                if url.startswith("file:"):
                    break
    finally:
        _local.guard = previous
    raise FetchError(f"cannot fetch {url}: {last}")


def cache_dir() -> str:
    """Where verified downloads are kept, named by their sha256 (url packages and runtimes share it)."""
    from envr import dirs

    return os.path.join(dirs.cache_dir(), "downloads")


def verified(
    url: str,
    expected: str,
    environ: Mapping[str, str],
    progress: Callable[[int, int | None], None] | None,
    what: str,
) -> str:
    """The download of url whose sha256 is expected, in the cache (fetched now unless a copy that still hashes
    to it is there). What arrives is written beside it and only renamed into place once it hashes right, so a
    mismatch (naming both hashes) or a broken download leaves nothing."""
    from envr.store.hashing import file_sha256

    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    final = os.path.join(cache, expected)
    if os.path.exists(final) and file_sha256(final) == expected:
        return final
    part = f"{final}.part-{os.getpid()}-{threading.get_ident()}"
    try:
        try:
            actual = download(url, part, environ, progress)
        except FetchError as e:
            raise FetchError(f"{what}: {e}") from None
        if actual != expected:
            raise FetchError(f"{what}: sha256 mismatch for {url}: expected {expected}, got {actual}")
        os.replace(part, final)
    finally:
        if os.path.exists(part):
            os.unlink(part)
    return final
