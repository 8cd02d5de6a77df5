"""What envr passes to the installers it runs (uv for pypi, npm for npm) and reads back from them.

- Timeouts (D8): both get envr's ENVR_HTTP_TIMEOUT (default 30 s) unless the user set the tool's own:
  uv `UV_HTTP_TIMEOUT` (or `UV_REQUEST_TIMEOUT`, `HTTP_TIMEOUT`); npm `fetch-timeout` (in milliseconds, as
  `npm_config_fetch_timeout`, unless set in the environment or in the user's .npmrc). npm keeps its own
  `fetch-retries` (2).
- Trust (issue 10 item 13): uv ships its own root certificates, so behind a TLS-inspecting proxy it failed
  where pip, curl and npm worked; envr asks uv for the system store (`UV_SYSTEM_CERTS=1`, and its older
  name `UV_NATIVE_TLS=1`) unless the user set either, or `SSL_CERT_FILE`. npm reads Node's own roots: a
  certificate error (SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ...) is reported with
  the one-line fix (NODE_EXTRA_CA_CERTS pointing at the system bundle, or npm's `cafile`). So envr adds the
  system bundle to Node's roots (NODE_EXTRA_CA_CERTS) unless the user set it or a cafile: a trial behind a
  TLS-inspecting proxy saw every npm step stall and retry before that error.
- What `envr add` pins (issue 10 item 5): the version of a universal resolution that the entry's own
  interpreter gets (installed_version).
- Progress (issue 10 item 12): their output is read line by line as it streams, and turned into the phase
  the live line shows (resolving, downloading with the size uv announces, building, installing).
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from packaging.requirements import Requirement

_SIZE = re.compile(r"^\s*Downloading (\S+) \(([\d.]+)\s*(B|KiB|MiB|GiB)\)")
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
_NODE_CERT = (
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "CERT_UNTRUSTED",
    "self-signed certificate",
    "unable to get local issuer certificate",
)
_UV_CERT = ("invalid peer certificate", "UnknownIssuer", "certificate verify failed", "self-signed certificate")
BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def _timeout(environ: Mapping[str, str]) -> float:
    from envr.store.sources.base import http_timeout

    return http_timeout(environ)


def uv_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env.setdefault("NO_COLOR", "1")
    if not any(env.get(v) for v in ("UV_HTTP_TIMEOUT", "UV_REQUEST_TIMEOUT", "HTTP_TIMEOUT")):
        env["UV_HTTP_TIMEOUT"] = f"{_timeout(environ):g}"
    if not any(v in env for v in ("UV_SYSTEM_CERTS", "UV_NATIVE_TLS", "SSL_CERT_FILE")):
        env["UV_SYSTEM_CERTS"] = env["UV_NATIVE_TLS"] = "1"
    return env


def npm_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env.setdefault("NO_COLOR", "1")
    if not any(k.lower() == "npm_config_fetch_timeout" for k in env) and not _npmrc_sets(env, "fetch-timeout"):
        env["npm_config_fetch_timeout"] = str(int(_timeout(environ) * 1000))
    if "NODE_EXTRA_CA_CERTS" not in env and not any(k.lower() == "npm_config_cafile" for k in env):
        bundle = system_bundle()
        if os.path.isfile(bundle) and not _npmrc_sets(env, "cafile"):
            env["NODE_EXTRA_CA_CERTS"] = bundle  # added to Node's own roots, as uv gets the system store
    return env


def _npmrc_sets(env: Mapping[str, str], key: str) -> bool:
    path = env.get("npm_config_userconfig") or env.get("NPM_CONFIG_USERCONFIG")
    path = path or os.path.join(env.get("HOME", os.path.expanduser("~")), ".npmrc")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(line.split("=", 1)[0].strip() == key for line in f)
    except OSError:
        return False


def system_bundle() -> str:
    return next((b for b in BUNDLES if os.path.isfile(b)), BUNDLES[0])


def npm_tls_hint(output: str) -> str | None:
    """The one-line fix for npm's certificate errors, or None."""
    if not any(marker in output for marker in _NODE_CERT):
        return None
    return (
        "npm does not trust the registry's certificate (a TLS-inspecting proxy?); if the system trusts it, "
        f"set NODE_EXTRA_CA_CERTS={system_bundle()} (or npm config set cafile {system_bundle()})"
    )


def uv_tls_hint(output: str, environ: Mapping[str, str]) -> str | None:
    """The one-line fix for uv's certificate errors, or None."""
    if not any(marker in output for marker in _UV_CERT):
        return None
    if "SSL_CERT_FILE" in environ:
        return f"uv does not trust the index's certificate with SSL_CERT_FILE={environ['SSL_CERT_FILE']}"
    return (
        "uv does not trust the index's certificate, not even through the system store; add the proxy's CA to the "
        f"system store, or set SSL_CERT_FILE to a bundle holding it (e.g. {system_bundle()} plus the CA)"
    )


class UvPhases:
    """on_line for run_logged: uv's lines -> phase(name, phase, done, total)."""

    def __init__(self, name: str, phase: Callable[[str, str | None, int | None, int | None], None]) -> None:
        self.name = name
        self.report = phase
        self.total = 0

    def start(self, what: str) -> None:
        self.report(self.name, what, None, None)

    def __call__(self, line: str) -> None:
        text = line.strip()
        m = _SIZE.match(line)
        if m:
            self.total += int(float(m.group(2)) * _UNITS[m.group(3)])
            self.report(self.name, f"downloading {m.group(1)}", None, self.total)
        elif text.startswith("Resolved "):
            self.report(self.name, "downloading", None, self.total or None)
        elif text.startswith("Building "):
            self.report(self.name, f"building {text.split()[1]}", None, None)
        elif text.startswith("Prepared "):
            self.report(self.name, "installing", None, self.total or None)
        elif text.startswith("Installed "):
            self.report(self.name, "compiling bytecode", None, self.total or None)


class NpmPhases:
    """on_line for run_logged with npm's `--loglevel http`: its fetches and lifecycle scripts."""

    def __init__(self, name: str, phase: Callable[[str, str | None, int | None, int | None], None]) -> None:
        self.name = name
        self.report = phase
        self.fetched = 0

    def start(self, what: str) -> None:
        self.report(self.name, what, None, None)

    def __call__(self, line: str) -> None:
        if line.startswith("npm http fetch"):
            self.fetched += 1
            self.report(self.name, f"downloading ({self.fetched} fetched)", None, None)
        elif line.startswith(("added ", "changed ", "up to date")):
            self.report(self.name, "installing", None, None)
        elif re.match(r"^> \S+@\S+ (pre|post)?install", line):
            self.report(self.name, "building (install script)", None, None)


def installed_version(target: str, req: Requirement, requirements: list[str]) -> str:
    """The version of the entry's own distribution that its interpreter gets from a universal resolution.

    `uv pip compile --universal` splits by Python version (`ansible-core==2.19.14 ; python_full_version <
    '3.12'` and `==2.21.5 ; >= 3.12`): the markers are evaluated for the entry's python (`target`) (its full version
    when it is the interpreter envr runs on, else X.Y.0) and this platform, so `envr add` pins what is
    installed. "url" for a URL requirement."""
    import platform
    import sys

    from packaging.markers import InvalidMarker, Marker, default_environment
    from packaging.utils import canonicalize_name

    from envr.errors import EnvrError

    def major_minor(version: str) -> str:
        return ".".join(version.split(".")[:2])

    if major_minor(target) == major_minor(platform.python_version()):
        full = platform.python_version()
    else:
        full = target if target.count(".") == 2 else f"{target}.0"
    environment = {key: str(value) for key, value in default_environment().items()}
    environment.update(python_version=major_minor(full), python_full_version=full)
    name = canonicalize_name(req.name)
    found: list[str] = []
    for line in requirements:
        pinned, _, marker = line.partition(";")
        if "==" not in pinned or canonicalize_name(pinned.split("==")[0].split("[")[0]) != name:
            continue
        version = pinned.split("==", 1)[1].strip()
        found.append(version)
        try:
            if not marker.strip() or Marker(marker.strip()).evaluate(environment):
                return version
        except InvalidMarker:
            continue
    if found:
        raise EnvrError(
            f"pypi {req}: the resolution has {', '.join(found)} for other Pythons, none for Python {full} on "
            f'{sys.platform}; set python = "X.Y" in the entry to choose one'
        )
    return "url"
