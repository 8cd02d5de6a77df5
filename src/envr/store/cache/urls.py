"""Which backend a cache URL names (backend.py describes the forms)."""

from __future__ import annotations

from urllib.parse import urlsplit

from envr.store.cache.backend import Backend, parse_oci
from envr.store.cache.transport import CacheError, Transport


def open_backend(url: str, transport: Transport | None = None, create: bool = False) -> Backend:
    """The backend a substituter or destination URL names. create: a file:// layout may be made."""
    scheme = urlsplit(url).scheme
    if scheme == "oci":
        from envr.store.cache.distribution import Registry

        host, repo, _ = parse_oci(url)
        return Registry(host, repo, transport or Transport())
    if scheme == "file":
        from envr.store.cache.layout import Layout

        path = urlsplit(url).path
        if not path.startswith("/"):
            raise CacheError(f"{url}: a file URL needs an absolute path (file:///DIR)")
        return Layout(path, create=create, url=url)
    if scheme in ("https", "http"):
        from envr.store.cache.layout import StaticLayout

        return StaticLayout(url.rstrip("/"), transport or Transport())
    raise CacheError(f"{url}: a cache is oci://HOST/REPOSITORY, file:///DIR or https://HOST/PATH")
