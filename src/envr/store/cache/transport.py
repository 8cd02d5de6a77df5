"""HTTP(S) for caches: kept-alive connections, a short connect timeout, redirects, plain http on loopback only.

A cache must never stall a prompt: connecting gets CONNECT_TIMEOUT seconds, each read READ_TIMEOUT. Plain
http is refused for any host but a loopback one (127.0.0.0/8, ::1, localhost), as docker treats those as its
only default insecure registries. A redirect to another host (registries send blob downloads to object
storage) drops the Authorization header, which belongs to the registry only.
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
from collections.abc import Callable, Mapping
from typing import IO
from urllib.parse import urljoin, urlsplit

from envr.errors import EnvrError

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
_BLOCK = 1 << 20
_REDIRECTS = (301, 302, 303, 307, 308)


class CacheError(EnvrError):
    """A cache that could not be used: its message is one line naming the URL (and digest) and what was wrong."""

    unreachable = False  # the cache itself failed (not one artifact): skip it for a while


class Unreachable(CacheError):
    unreachable = True


class HttpStatusError(CacheError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.unreachable = status >= 500 or status in (401, 403, 429)


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Body:
    """An upload body read in blocks, reporting progress, rewindable for one retry on a stale connection."""

    def __init__(self, f: IO[bytes], length: int, progress: Callable[[int], None] | None) -> None:
        self.f = f
        self.start = f.tell()
        self.left = length
        self.length = length
        self.progress = progress

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.f.read(min(self.left, _BLOCK if n < 0 else n))
        self.left -= len(data)
        if self.progress is not None and data:
            self.progress(len(data))
        return data

    def rewind(self) -> None:
        if self.progress is not None and self.left != self.length:
            self.progress(-(self.length - self.left))
        self.f.seek(self.start)
        self.left = self.length


class Transport:
    """One per cache in use: a connection per origin, reused while the server keeps it open."""

    def __init__(self, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._ssl: ssl.SSLContext | None = None

    def _connection(self, scheme: str, host: str, port: int) -> tuple[http.client.HTTPConnection, bool]:
        key = (scheme, host, port)
        conn = self._conns.get(key)
        if conn is not None and conn.sock is not None:
            return conn, True
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=self._ssl, blocksize=_BLOCK
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout, blocksize=_BLOCK)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)
        self._conns[key] = conn
        return conn, False

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def stream(
        self,
        resp: http.client.HTTPResponse,
        url: str,
        digest: str,
        write: Callable[[bytes], object],
        progress: Callable[[int], None],
    ) -> None:
        """A blob response's body into write, block by block. A connection that breaks mid-body is closed (it
        is never reused) and is Unreachable, naming the blob; so is any other exception while reading."""
        try:
            while chunk := resp.read(_BLOCK):
                write(chunk)
                progress(len(chunk))
        except (OSError, http.client.HTTPException) as e:
            resp.close()
            self.close()
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise Unreachable(f"{url}: the download of {digest} broke off ({reason})") from None
        except BaseException:
            resp.close()
            self.close()  # the connection is mid-body: never reuse it
            raise

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | _Body | None = None,
        auth: str | None = None,
    ) -> http.client.HTTPResponse:
        """Send one request, following redirects for GET and HEAD. The caller reads (or closes) the response."""
        for _ in range(6):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise CacheError(f"{url}: not an http(s) URL")
            if parts.scheme == "http" and not is_loopback(parts.hostname):
                raise CacheError(f"{url}: plain http is only for loopback hosts; use https")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            sent = {"User-Agent": "envr", **(headers or {})}
            if auth is not None:
                sent["Authorization"] = auth
            if isinstance(body, _Body):
                sent["Content-Length"] = str(body.length)
            elif body is not None:
                sent["Content-Length"] = str(len(body))
            elif method in ("PUT", "POST", "PATCH"):
                sent["Content-Length"] = "0"
            resp = self._send(method, url, parts.scheme, parts.hostname, port, target, sent, body)
            if resp.status in _REDIRECTS and method in ("GET", "HEAD"):
                location = resp.getheader("Location")
                resp.read()
                if not location:
                    raise CacheError(f"{url}: a redirect without a Location")
                url = urljoin(url, location)
                if urlsplit(url).netloc != parts.netloc:
                    auth = None
                continue
            return resp
        raise CacheError(f"{url}: too many redirects")

    def _send(
        self,
        method: str,
        url: str,
        scheme: str,
        host: str,
        port: int,
        target: str,
        headers: dict[str, str],
        body: bytes | _Body | None,
    ) -> http.client.HTTPResponse:
        for attempt in (1, 2):
            try:
                conn, reused = self._connection(scheme, host, port)
            except (OSError, ssl.SSLError) as e:
                raise Unreachable(f"{url}: cannot connect ({_reason(e)})") from None
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                if method == "HEAD":
                    resp.read()
                return resp
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                conn.close()
                self._conns.pop((scheme, host, port), None)
                if not reused or attempt == 2:
                    raise Unreachable(f"{url}: the connection broke ({_reason(e)})") from None
                if isinstance(body, _Body):
                    body.rewind()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._conns.pop((scheme, host, port), None)
                raise Unreachable(f"{url}: {method} failed ({_reason(e)})") from None
        raise AssertionError("unreachable")


def _reason(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def upload_body(f: IO[bytes], length: int, progress: Callable[[int], None] | None = None) -> _Body:
    return _Body(f, length, progress)


def drain_error(resp: http.client.HTTPResponse) -> str:
    """A short reason from an error response (registries answer {"errors": [{"code", "message"}]})."""
    import json

    raw = resp.read(8192)
    try:
        errors = json.loads(raw).get("errors") or []
        if errors and isinstance(errors[0], dict):
            return f"{errors[0].get('code', '')}: {errors[0].get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        pass
    return f"HTTP {resp.status} {resp.reason}".strip()
