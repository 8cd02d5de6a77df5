"""A client of the OCI distribution API (registry API v2), enough for a binary cache and for images.

    HEAD/GET /v2/<repo>/blobs/<digest>          is it there / fetch it (redirects to object storage followed)
    POST     /v2/<repo>/blobs/uploads/          start an upload (or ?mount=<digest>&from=<repo>)
    PUT      <location>?digest=<digest>         monolithic: the whole blob in one request
    PATCH    <location> + Content-Range         chunked, for blobs over CHUNKED_ABOVE, then PUT ?digest=
    GET/PUT  /v2/<repo>/manifests/<tag|digest>  manifests
    GET      /v2/<repo>/tags/list               tags, following Link: rel="next"

Authentication happens when a request is answered 401 (auth.py); the header is then kept for the scope.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from typing import IO
from urllib.parse import quote, urljoin

from envr.store.cache import auth
from envr.store.cache.backend import MANIFEST_TYPES, MAX_MANIFEST, Manifest, check_digest, digest_of
from envr.store.cache.transport import (
    CacheError,
    HttpStatusError,
    Transport,
    drain_error,
    is_loopback,
    upload_body,
)

CHUNKED_ABOVE = 64 << 20
CHUNK = 16 << 20


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Registry:
    writable = True

    def __init__(self, host: str, repository: str, transport: Transport) -> None:
        if host in ("docker.io", "index.docker.io"):
            host = auth.DOCKER_HUB
            if "/" not in repository:
                repository = f"library/{repository}"
        self.host = host
        self.repository = repository
        self.transport = transport
        scheme = "http" if is_loopback(_hostname(host)) else "https"
        self.base = f"{scheme}://{host}/v2/{repository}"
        self.url = f"oci://{host}/{repository}"
        self._auth: dict[str, str] = {}
        self._creds: tuple[str, str] | None = None
        self._looked_up = False

    # --- requests, authenticated on demand ---

    def _credentials(self) -> tuple[str, str] | None:
        if not self._looked_up:
            self._creds = auth.credentials(self.host, self.repository)
            self._looked_up = True
        return self._creds

    def _call(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        push: bool = False,
    ) -> http.client.HTTPResponse:
        scope = f"repository:{self.repository}:{'pull,push' if push else 'pull'}"
        header = self._auth.get(scope) or (self._auth.get(f"repository:{self.repository}:pull,push"))
        resp = self.transport.request(method, url, headers, body, auth=header)
        if resp.status != 401:
            return resp
        challenge = resp.getheader("WWW-Authenticate") or ""
        resp.read()
        self._auth[scope] = auth.authorization(self.transport, url, challenge, self._credentials(), scope)
        resp = self.transport.request(method, url, headers, body, auth=self._auth[scope])
        if resp.status == 401:
            resp.read()
            raise auth.AuthError(f"{url}: not authorised for {scope} (check the login in the auth files)")
        return resp

    def _fail(self, resp: http.client.HTTPResponse, url: str, what: str) -> CacheError:
        return HttpStatusError(f"{url}: {what} failed: {drain_error(resp)}", resp.status)

    # --- the Backend interface ---

    def manifest(self, ref: str) -> Manifest | None:
        url = f"{self.base}/manifests/{quote(ref, safe=':')}"
        resp = self._call("GET", url, {"Accept": ", ".join(MANIFEST_TYPES)})
        if resp.status == 404:
            resp.read()
            return None
        if resp.status != 200:
            raise self._fail(resp, url, "GET manifest")
        data = resp.read(MAX_MANIFEST + 1)
        if len(data) > MAX_MANIFEST:
            resp.close()
            raise CacheError(f"{url}: a manifest over {MAX_MANIFEST} bytes")
        media_type = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        actual = digest_of(data)
        if ref.startswith("sha256:") and actual != ref:
            raise CacheError(f"{url}: the manifest has digest {actual}, expected {ref}")
        return Manifest(data, media_type, actual)

    def has_blob(self, digest: str) -> bool:
        check_digest(digest, self.url)
        url = f"{self.base}/blobs/{digest}"
        resp = self._call("HEAD", url)
        if resp.status == 200:
            return True
        if resp.status == 404:
            return False
        raise self._fail(resp, url, "HEAD blob")

    def read_blob(self, digest: str, write: Callable[[bytes], object], progress: Callable[[int], None]) -> None:
        check_digest(digest, self.url)
        url = f"{self.base}/blobs/{digest}"
        resp = self._call("GET", url)
        if resp.status == 404:
            resp.read()
            raise CacheError(f"{url}: no such blob (expected {digest})")
        if resp.status != 200:
            raise self._fail(resp, url, "GET blob")
        self.transport.stream(resp, url, digest, write, progress)

    def mount(self, digest: str, from_repository: str) -> bool:
        """Ask the registry to link a blob it holds in another repository; False if it would not."""
        url = f"{self.base}/blobs/uploads/?mount={digest}&from={quote(from_repository, safe='/')}"
        resp = self._call("POST", url, push=True)
        resp.read()
        if resp.status == 201:
            return True
        if resp.status == 202 and resp.getheader("Location"):  # an upload was started instead: cancel it
            self._call("DELETE", urljoin(self.base, resp.getheader("Location") or ""), push=True).read()
        return False

    def put_blob(self, digest: str, size: int, f: IO[bytes], progress: Callable[[int], None] | None) -> None:
        check_digest(digest, self.url)
        start = f"{self.base}/blobs/uploads/"
        resp = self._call("POST", start, push=True)
        if resp.status != 202:
            raise self._fail(resp, start, "starting an upload")
        resp.read()
        location = self._location(resp, start)
        if size > CHUNKED_ABOVE:
            offset = 0
            while offset < size:
                n = min(CHUNK, size - offset)
                headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + n - 1}"}
                body = upload_body(f, n, progress)
                resp = self.transport.request("PATCH", location, headers, body, auth=self._push_auth())
                if resp.status != 202:
                    raise self._fail(resp, location, f"uploading {digest} at byte {offset}")
                resp.read()
                location = self._location(resp, location)
                offset += n
            final = self.transport.request("PUT", self._with_digest(location, digest), auth=self._push_auth())
        else:
            body = upload_body(f, size, progress)
            headers = {"Content-Type": "application/octet-stream"}
            final = self.transport.request(
                "PUT", self._with_digest(location, digest), headers, body, auth=self._push_auth()
            )
        if final.status != 201:
            raise self._fail(final, location, f"uploading {digest}")
        final.read()

    def put_manifest(self, ref: str, manifest: Manifest) -> None:
        url = f"{self.base}/manifests/{quote(ref, safe=':')}"
        resp = self._call("PUT", url, {"Content-Type": manifest.media_type}, manifest.data, push=True)
        if resp.status not in (200, 201):
            raise self._fail(resp, url, f"PUT manifest {manifest.digest}")
        resp.read()

    def tags(self) -> list[str]:
        url: str | None = f"{self.base}/tags/list?n=1000"
        out: list[str] = []
        while url:
            resp = self._call("GET", url)
            if resp.status == 404:
                resp.read()
                return out
            if resp.status != 200:
                raise self._fail(resp, url, "listing tags")
            import json

            try:
                doc = json.loads(resp.read(64 << 20))
            except ValueError:
                raise CacheError(f"{url}: the tag list is not JSON") from None
            out += [t for t in doc.get("tags") or [] if isinstance(t, str)]
            link = resp.getheader("Link") or ""
            m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
            url = urljoin(url, m.group(1)) if m else None
        return out

    def close(self) -> None:
        self.transport.close()

    # --- helpers ---

    def _push_auth(self) -> str | None:
        return self._auth.get(f"repository:{self.repository}:pull,push")

    def _location(self, resp: http.client.HTTPResponse, base: str) -> str:
        location = resp.getheader("Location")
        if not location:
            raise CacheError(f"{base}: the registry gave no upload location")
        return urljoin(base, location)

    @staticmethod
    def _with_digest(location: str, digest: str) -> str:
        return f"{location}{'&' if '?' in location else '?'}digest={quote(digest, safe='')}"
