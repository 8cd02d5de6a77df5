"""Registry credentials from the files docker, podman and skopeo already keep, and the token dance.

Looked up in skopeo's order, the first file with an entry for the registry wins:
  $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
  $DOCKER_CONFIG/config.json (default ~/.docker/config.json).
Each holds {"auths": {"HOST[:PORT][/REPO]": {"auth": base64("user:password")}}} (keys may carry a scheme
or a /v1/ or /v2/ suffix; the most specific repository prefix wins); docker's file may instead name a
credential helper ("credHelpers": {HOST: NAME} or "credsStore": NAME), run as `docker-credential-NAME get`.

A 401 answer's WWW-Authenticate says how to authenticate: Basic (send the credentials) or Bearer (fetch a
token from its realm for the repository's scope, with the credentials if there are any, else anonymously).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from urllib.parse import urlencode

from envr import dirs
from envr.store.cache.transport import CacheError, Transport, drain_error

DOCKER_HUB = "registry-1.docker.io"


class AuthError(CacheError):
    """The registry would not let us in: the whole cache failed, not one artifact (skip it for a while)."""

    unreachable = True


_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


def auth_files() -> list[str]:
    home = dirs.setting("HOME") or os.path.expanduser("~")
    files = []
    if dirs.setting("REGISTRY_AUTH_FILE"):
        files.append(dirs.setting("REGISTRY_AUTH_FILE"))
    if dirs.setting("XDG_RUNTIME_DIR"):
        files.append(os.path.join(dirs.setting("XDG_RUNTIME_DIR"), "containers", "auth.json"))
    files.append(os.path.join(home, ".config", "containers", "auth.json"))
    files.append(os.path.join(dirs.setting("DOCKER_CONFIG") or os.path.join(home, ".docker"), "config.json"))
    return files


def _normalise(key: str) -> str:
    key = re.sub(r"^[a-z]+://", "", key.strip().lower())
    key = re.sub(r"/v[12]/?$", "", key)
    return key.rstrip("/")


def _candidates(host: str, repository: str) -> list[str]:
    """Entry keys that may hold host's credentials, most specific first."""
    host = host.lower()
    names = [host] if host != DOCKER_HUB else [_normalise(k) for k in _HUB_KEYS]
    parts = repository.split("/")
    out = []
    for name in names:
        out += [f"{name}/{'/'.join(parts[:i])}" for i in range(len(parts), 0, -1)]
        out.append(name)
    return out


def credentials(host: str, repository: str) -> tuple[str, str] | None:
    """(user, secret) for the registry, or None for anonymous access."""
    wanted = _candidates(host, repository)
    for path in auth_files():
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict):
            continue
        auths = doc.get("auths")
        entries = {_normalise(k): v for k, v in auths.items() if isinstance(v, dict)} if isinstance(auths, dict) else {}
        for key in wanted:
            entry = entries.get(key)
            if entry and isinstance(entry.get("auth"), str):
                raw = entry["auth"].strip()
                raw += "=" * (-len(raw) % 4)
                try:
                    decoded = base64.b64decode(raw).decode("utf-8", "replace")
                except ValueError:
                    continue
                user, sep, secret = decoded.partition(":")
                if sep:
                    return user, secret
        helpers = doc.get("credHelpers")
        helpers = helpers if isinstance(helpers, dict) else {}
        helper = next((helpers[k] for k in helpers if _normalise(k) in wanted), None) or doc.get("credsStore")
        if isinstance(helper, str) and helper:
            found = _from_helper(helper, host)
            if found is not None:
                return found
    return None


def _from_helper(helper: str, host: str) -> tuple[str, str] | None:
    try:
        proc = subprocess.run(
            [f"docker-credential-{helper}", "get"], input=host, capture_output=True, text=True, timeout=10, check=False
        )
        doc = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("Username"), str) and isinstance(doc.get("Secret"), str):
        return doc["Username"], doc["Secret"]
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', rest)}
    return scheme.lower(), params


def basic(creds: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()


def authorization(transport: Transport, url: str, challenge: str, creds: tuple[str, str] | None, scope: str) -> str:
    """The Authorization header value that answers challenge (a WWW-Authenticate value) for scope."""
    scheme, params = parse_challenge(challenge)
    if scheme == "basic":
        if creds is None:
            raise AuthError(f"{url}: the registry asks for a login and no auth file has one ({auth_files()[-1]})")
        return basic(creds)
    if scheme != "bearer" or "realm" not in params:
        raise AuthError(f"{url}: unsupported authentication {challenge[:60]!r}")
    query = {"scope": scope} | ({"service": params["service"]} if "service" in params else {})
    token_url = params["realm"] + ("&" if "?" in params["realm"] else "?") + urlencode(query)
    resp = transport.request("GET", token_url, auth=basic(creds) if creds else None)
    if resp.status != 200:
        raise AuthError(f"{token_url}: no token ({drain_error(resp)}); check the login in the auth files")
    try:
        doc = json.loads(resp.read(1 << 20))
        token = doc.get("token") or doc.get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise AuthError(f"{token_url}: the token answer holds no token")
    return "Bearer " + token
