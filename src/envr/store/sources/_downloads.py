"""The runtime kinds' downloads: their small index files (cached, a stale copy when the mirror is down),
checksum lists, archives verified by sha256 or npm integrity, and asking a runtime's binary its version."""

from __future__ import annotations

import os

from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

INDEX_LIMIT = 64 << 20

# Whether an index that was never downloaded may be downloaded to name a store path. Off by default: the
# prompt's core and the reporting commands (status, ls, store path) never touch the network; envr lock (which
# passes a max_age) and realising (project.packages.sync, under `fetching()`) do.
_FETCHING = [False]


class fetching:
    """While active (a sync: the command, exec, shell -p, watch, or the prompt's realisation of what is
    missing), runtime indexes that are not cached yet may be downloaded."""

    def __enter__(self) -> None:
        self.before = _FETCHING[0]
        _FETCHING[0] = True

    def __exit__(self, *exc: object) -> None:
        _FETCHING[0] = self.before


def cache_path(url: str) -> str:
    from envr import dirs
    from envr.fsutil import key_of

    return os.path.join(dirs.cache_dir(), "runtimes", key_of(url))


def fetch_index(url: str, environ: Mapping[str, str], max_age: float | None, what: str) -> bytes:
    """url's bytes, from the cache when it holds a copy younger than max_age (None: any copy at all), else
    downloaded (and cached). A failed download falls back to a cached copy of any age."""
    import time

    from envr.fsutil import read_regular, write_atomic

    path = cache_path(url)
    try:
        st = os.stat(path)
        cached = max_age is None or time.time() - st.st_mtime < max_age
    except OSError:
        st, cached = None, False
    if cached:
        return read_regular(path, INDEX_LIMIT)
    if max_age is None and st is None and not _FETCHING[0] and not url.startswith("/"):
        raise EnvrError(
            f"{what}: {url} is not downloaded yet, and this command does not download; "
            "envr sync (or envr lock, which also records the exact version) does"
        )
    if url.startswith("/"):  # a local file (a mirror's downloads list on disk): read it where it is
        try:
            return read_regular(url, INDEX_LIMIT)
        except OSError as e:
            raise EnvrError(f"{what}: cannot read {url}: {e.strerror or e}") from None
    from envr.store.sources import _fetch

    os.makedirs(os.path.dirname(path), exist_ok=True)
    part = f"{path}.part-{os.getpid()}-{id(url)}"
    try:
        _fetch.download(url, part, environ)
        with open(part, "rb") as f:
            data = f.read(INDEX_LIMIT + 1)
        if len(data) > INDEX_LIMIT:
            raise EnvrError(f"{what}: {url} is larger than {INDEX_LIMIT >> 20} MiB; refused")
        write_atomic(path, data)
        return data
    except _fetch.FetchError as e:
        if st is not None:
            return read_regular(path, INDEX_LIMIT)
        raise EnvrError(f"{what}: {e}{_mirror_hint(what, environ)}") from None
    finally:
        if os.path.exists(part):
            os.unlink(part)


_MIRRORS = {
    "node": "ENVR_NODE_MIRROR (a nodejs.org-style mirror, or npm: for the npm registry's node builds)",
    "go": "ENVR_GO_MIRROR",
    "python": "UV_PYTHON_INSTALL_MIRROR (or UV_PYTHON_DOWNLOADS_JSON_URL)",
}


def _mirror_hint(what: str, environ: Mapping[str, str]) -> str:
    """'; behind a firewall, set ENVR_NODE_MIRROR ...' for a runtime whose mirror setting is not set."""
    for kind, setting in _MIRRORS.items():
        if (what == kind or f"({kind} " in what) and not environ.get(setting.split()[0]):
            return f"; where that host cannot be reached, set {setting}"
    return ""


def parse_json(data: bytes, url: str, what: str) -> Any:
    import json

    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise EnvrError(f"{what}: {url} is not JSON ({str(e).splitlines()[0][:80]})") from None


def parse_sums(data: bytes, url: str, what: str) -> dict[str, str]:
    """A SHASUMS256.txt / SHA256SUMS file: `<64 hex>  <file name>` per line; anything else is refused with
    its line number (a file that lies about one archive must not be trusted for another)."""
    sums: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvrError(f"{what}: {url} is not text") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*").removeprefix("./")
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest.lower()) or not name:
            raise EnvrError(f"{what}: {url} line {number} is not '<sha256>  <file>': {line.strip()[:80]!r}")
        sums[name] = digest.lower()
    return sums


# --- downloading and unpacking an archive ------------------------------------------------------------------


def download(art: Any, environ: Mapping[str, str], what: str, progress: Any = None) -> str:
    """The verified archive in the download cache (fetched now if needed); a mismatch names both digests."""
    import base64
    import hashlib

    from envr.store.sources import _fetch

    if art.digest.startswith("sha256:"):
        return _fetch.verified(art.url, art.digest[len("sha256:") :].lower(), environ, progress, what)
    cache = _fetch.cache_dir()  # an npm integrity (sha512): kept under a name derived from it
    os.makedirs(cache, exist_ok=True)
    final = os.path.join(cache, "integrity-" + hashlib.sha256(art.digest.encode()).hexdigest())
    part = f"{final}.part-{os.getpid()}-{id(art)}"
    try:
        try:
            _fetch.download(art.url, part, environ, progress)
        except _fetch.FetchError as e:
            raise EnvrError(f"{what}: {e}") from None
        algo, _, want = art.digest.partition("-")
        h = hashlib.new(algo) if algo in ("sha512", "sha384", "sha256") else None
        if h is None:
            raise EnvrError(f"{what}: unsupported integrity {art.digest[:20]!r} for {art.url}")
        with open(part, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        got = base64.b64encode(h.digest()).decode()
        if got != want:
            raise EnvrError(f"{what}: integrity mismatch for {art.url}: expected {art.digest}, got {algo}-{got}")
        os.replace(part, final)
    finally:
        if os.path.exists(part):
            os.unlink(part)
    return final


def run_version(argv: list[str], cwd: str, env: Mapping[str, str], what: str) -> str:
    """What a runtime's own binary says about its version (stdout, stripped)."""
    import subprocess

    try:
        proc = subprocess.run(argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EnvrError(f"{what}: {argv[0]} does not run ({e})") from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise EnvrError(f"{what}: {argv[0]} failed (exit {proc.returncode}): {said[-1] if said else 'no output'}")
    return proc.stdout.strip()
