"""npm tools: one package installed with `npm install -g --prefix <store path>`.

Entry forms (envr.toml ``[packages]``)::

    prettier = "npm:prettier@3.3.3"                    # shorthand, expanded by packages.py
    tsc = { npm = "typescript@5.6.2" }
    ng = { npm = "@angular/cli@18.2.8" }               # scoped names
    cowsay = { npm = "./vendor/cowsay-1.6.0.tgz" }     # a local tarball made by `npm pack`

The value is either ``name@version`` (``name`` may be scoped, ``@scope/name``; a bare ``name`` or a range/tag
after ``@`` is accepted but reported as version ``unpinned`` until the lock pins it), or a local tarball:
a value ending in ``.tgz`` or ``.tar.gz``, or starting with ``./``, ``../``, ``/`` or ``~/``, is a path to a
tarball produced by ``npm pack``, relative to the project root. For a tarball the name and version are read
from its ``package/package.json`` and its sha256 goes into the recipe, so changing the file rebuilds. (A folder
is not accepted: npm installs a folder as a symlink to it, which the store cannot own.)

``npm install -g --prefix <out>`` embeds no absolute prefix (bins are relative symlinks in ``out/bin``), so the
build can happen in a temporary directory that is renamed into place. npm reads its registry and other
settings from ``npm_config_*`` variables and ``.npmrc`` itself; envr passes the environment through.
npm gets envr's ENVR_HTTP_TIMEOUT as its fetch-timeout unless the user set one, runs in its own process group
that dies with envr, and a certificate it does not trust is reported with the fix (see _tools.py).
Which node: a project that pins a node runtime (``node = "node:22"``) installs its npm tools with that node
(and its npm, where the build has one), and their recipe names the runtime's store path (an input: gc
follows it, ``envr store rm`` refuses to break it). Otherwise the node found on PATH *outside the store* (a
project's own packages never count), recorded by real path and major version, so the same envr.toml gives the
same store paths from any directory and shell. The bins start with ``#!/usr/bin/env node``: inside the project
the runtime's node is first on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from envr.errors import EnvrError, ProjectFileError
from envr.store.hashing import file_sha256
from envr.store.sources import _tools as installers
from envr.store.sources.base import (
    CliSpec,
    Dependency,
    PackageSpec,
    RealiseContext,
    always_matches,
    claims_nothing,
    never_in_place,
    run_logged,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.sources.base import Source

NO_NODE = (
    "node and npm are needed for npm packages: install Node.js (which includes npm), e.g. apt-get install nodejs npm"
)
_NAME = re.compile(r"^(?:@[a-z0-9~-][a-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$")
_EXACT = re.compile(r"^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$")
_VERSION_PART = re.compile(r"^[^\s@]+$")


KEYS = ("npm",)  # common keys such as `prefer` are removed by packages.py first


def _err(spec: PackageSpec, message: str) -> ProjectFileError:
    return ProjectFileError(spec.project_file, f"packages.{spec.name}: {message}", spec.line)


def _value(spec: PackageSpec) -> str:
    raw = spec.entry.get("npm")
    if not isinstance(raw, str) or not raw.strip():
        raise _err(spec, 'key "npm" must be a string such as "prettier@3.3.3" or "./pkg-1.0.0.tgz"')
    return raw.strip()


def is_tarball(value: str) -> bool:
    return value.endswith((".tgz", ".tar.gz")) or value.startswith(("./", "../", "/", "~/"))


def split_spec(value: str) -> tuple[str, str | None]:
    """'@scope/pkg@1.2.3' -> ('@scope/pkg', '1.2.3'); 'pkg' -> ('pkg', None)."""
    at = value.find("@", 1)  # a leading @ belongs to the scope
    if at == -1:
        return value, None
    return value[:at], value[at + 1 :]


def _tarball_path(spec: PackageSpec, value: str) -> Path:
    return Path(spec.project_root, os.path.expanduser(value)).resolve()


def _tarball_manifest(spec: PackageSpec, path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r:*") as tar:
            member = tar.extractfile("package/package.json")
            if member is None:
                raise KeyError("package/package.json")
            manifest = json.loads(member.read().decode("utf-8"))
    except FileNotFoundError:
        raise _err(spec, f'key "npm": tarball {str(path)!r} does not exist') from None
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise _err(spec, f'key "npm": {str(path)!r} is not an `npm pack` tarball ({exc})') from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("name"), str):
        raise _err(spec, f'key "npm": {str(path)!r} has no package name in package.json')
    return manifest


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def outside_store(path: str) -> str:
    """PATH without envr's store paths: the node an npm tool records is never a project's own package."""
    from envr.store import store_dir

    store = os.path.realpath(store_dir())
    keep = [d for d in path.split(os.pathsep) if d and not os.path.realpath(d).startswith(store + os.sep)]
    return os.pathsep.join(keep)


def _tools(environ: Mapping[str, str], runtime: Path | None = None) -> tuple[str, str]:
    """node and npm: the project's node runtime's (npm from PATH where the build has none), else PATH's."""
    path = outside_store(environ.get("PATH", os.defpath))
    if runtime is not None:
        bindir = str(runtime / ".envr" / "bin")
        found = shutil.which("npm", path=bindir) or shutil.which("npm", path=path)
        if found is None:
            raise EnvrError(f"npm not found in {runtime} nor on PATH; {NO_NODE}")
        return os.path.join(bindir, "node"), found
    node, npm = shutil.which("node", path=path), shutil.which("npm", path=path)
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        raise EnvrError(f"{missing} not found on PATH; {NO_NODE}")
    return node, npm


def node_of(environ: Mapping[str, str]) -> tuple[str, str]:
    """(major version, real path) of the node on PATH outside the store, for a project without a node runtime."""
    node, _ = _tools(environ)
    return node_major(environ), os.path.realpath(node)


def _header_major(node: str) -> str | None:
    """The major version in include/node/node_version.h beside the real node binary, which node's own release
    archives (so nvm, fnm, asdf, mise and Homebrew installs) and most distribution builds ship: read, so a
    prompt with envr's cache wiped starts no process. None where there is no such header."""
    header = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(node))), "include", "node", "node_version.h")
    try:
        with open(header, "rb") as f:
            text = f.read(65536).decode("ascii", "replace")
    except OSError:
        return None
    match = re.search(r"^#define NODE_MAJOR_VERSION (\d{1,4})\s*$", text, re.M)
    return match.group(1) if match else None


def node_major(environ: Mapping[str, str]) -> str:
    node, _ = _tools(environ)
    from_header = _header_major(node)
    if from_header is not None:
        return from_header
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, env=dict(environ))
    except (OSError, subprocess.CalledProcessError) as exc:
        raise EnvrError(f"`node --version` failed ({exc}); {NO_NODE}") from None
    match = re.match(r"v?(\d+)\.", out.stdout.strip())
    if not match:
        raise EnvrError(f"cannot read node's version from {out.stdout.strip()!r}")
    return match.group(1)


def _last_error(log_text: str) -> str:
    """npm's first informative error line (skipping `code`, `errno`, `syscall` and the log-file notice)."""
    lines = []
    for line in log_text.splitlines():
        m = re.match(r"^npm (?:error|ERR!)\s*(.*)$", line.strip())
        if m and m.group(1).strip():
            lines.append(m.group(1).strip())
    skip = ("code ", "errno ", "syscall ", "path ", "A complete log", "Log files were not written", "dest ")
    useful = [line for line in lines if not line.startswith(skip)]
    if useful:
        return useful[0]
    if lines:
        return lines[0]
    rest = [line.strip() for line in log_text.splitlines() if line.strip()]
    return rest[-1] if rest else "no output"


def _failure(output: str) -> str:
    """npm's error line, with the fix when it is a certificate it does not trust."""
    hint = installers.npm_tls_hint(output)
    return _last_error(output) + (f"; {hint}" if hint else "")


def _run(
    spec: PackageSpec, argv: list[str], out: Path, environ: Mapping[str, str], ctx: RealiseContext
) -> tuple[int, str]:
    phases = installers.NpmPhases(spec.name, ctx.phase)
    phases.start("resolving" if argv[1] == "install" else "downloading")
    try:
        return run_logged(argv, out, installers.npm_env(environ), ctx.log_path, phases)
    finally:
        ctx.phase(spec.name, None)


class NpmSource:
    kind: ClassVar[str] = "npm"
    shorthand: ClassVar[bool] = True
    resolves: ClassVar[bool] = True
    cli_form: ClassVar[str | None] = "npm:NAME[@VERSION]"
    provides: ClassVar[str | None] = None
    claims = staticmethod(claims_nothing)
    builds_in_place = staticmethod(never_in_place)
    check_locked = staticmethod(always_matches)  # a tarball's sha256 is checked when realising

    def needs(self, spec: PackageSpec) -> list[str]:
        """Installed with, and run by, the project's node runtime when it pins one."""
        return ["node"]

    def depends_on(self, spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
        """Without a node runtime the recipe records the node on PATH (and a tarball's sha256 is the file's)."""
        from envr.fsutil import tree_signature, which_identity

        deps: list[Dependency] = []
        if "node" not in spec.uses:
            deps.append(("which", "node", which_identity("node", environ.get("PATH", os.defpath))))
        value = _value(spec)
        if is_tarball(value):
            where = str(_tarball_path(spec, value))
            deps.append(("tree", where, tree_signature(where)))
        return deps

    def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
        """npm:NAME[@VERSION] (scoped too), named after the package without its scope."""
        name, version = split_spec(rest)
        pinned = bool(version and _EXACT.match(version))

        def pin(exact: str) -> str:
            return f"{self.kind}:{name}@{exact}"

        entry = f"{self.kind}:{rest}"
        return CliSpec(text, self.kind, name.rsplit("/", 1)[-1], entry, None if pinned else pin)

    def validate(self, spec: PackageSpec) -> None:
        unknown = sorted(k for k in spec.entry if k not in KEYS)
        if unknown:
            raise _err(spec, f"unknown key {unknown[0]!r} for a {self.kind} package (allowed: npm, prefer)")
        value = _value(spec)
        if is_tarball(value):
            if not value.endswith((".tgz", ".tar.gz")):
                raise _err(spec, f'key "npm": {value!r} must be a tarball made by `npm pack` (.tgz), not a folder')
            return
        name, version = split_spec(value)
        if not _NAME.match(name) or len(name) > 214:
            raise _err(spec, f'key "npm": {value!r} is not "name@version" (e.g. "prettier@3.3.3", "@scope/pkg@1.2.3")')
        if version is not None and not _VERSION_PART.match(version):
            raise _err(spec, f'key "npm": {value!r} has an empty or malformed version after "@"')

    def version(self, spec: PackageSpec) -> str:
        if spec.locked and spec.locked.get("version"):
            return str(spec.locked["version"])
        value = _value(spec)
        if is_tarball(value):
            manifest = _tarball_manifest(spec, _tarball_path(spec, value))
            version = manifest.get("version")
            return version if isinstance(version, str) and version else "local"
        _, version = split_spec(value)
        match = _EXACT.match(version or "")
        return match.group(1) if match else "unpinned"

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        value = _value(spec)
        recipe: dict[str, Any] = {"kind": self.kind}
        if is_tarball(value):
            path = _tarball_path(spec, value)
            manifest = _tarball_manifest(spec, path)
            recipe.update(name=manifest["name"], version=self.version(spec), tarball_sha256=file_sha256(path))
        elif spec.locked is not None and "tree" in spec.locked:  # the exact locked tree names the store path
            name, _ = split_spec(value)
            recipe.update(name=name, version=spec.locked.get("version"), tree=dict(spec.locked["tree"]))
            recipe["installer"] = "npm ci"
        else:
            name, version = split_spec(value)
            recipe.update(name=name, version=version or "latest")
        if "node" in spec.uses:  # the runtime's store path is this package's input: the outer recipe names it
            recipe["node"] = "runtime"
        else:
            recipe["node_major"], recipe["node"] = node_of(os.environ)
            recipe["external"] = [recipe["node"]]
        return recipe

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        """The full tree with integrity hashes, from `npm install --package-lock-only --ignore-scripts` in a
        temporary wrapper project. A local tarball is locked by its sha256."""
        value = _value(spec)
        if is_tarball(value):
            path = _tarball_path(spec, value)
            _tarball_manifest(spec, path)
            return {"version": self.version(spec), "sha256": file_sha256(path)}
        name, version = split_spec(value)
        _, npm = _tools(environ)
        with tempfile.TemporaryDirectory(prefix="envr-npm-lock-") as work:
            manifest = {
                "name": "envr-lock",
                "version": "0.0.0",
                "private": True,
                "dependencies": {name: version or "latest"},
            }
            Path(work, "package.json").write_text(json.dumps(manifest), encoding="utf-8")
            argv = [
                npm,
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--loglevel",
                "http",
            ]
            from envr import progress

            phases = installers.NpmPhases(spec.name, progress.phase)
            phases.start("resolving")
            try:
                code, output = run_logged(argv, work, installers.npm_env(environ), None, phases)
            except OSError as exc:
                raise EnvrError(f"npm {value}: cannot run npm ({exc}); {NO_NODE}") from None
            finally:
                progress.phase(spec.name, None)
            if code != 0:
                raise EnvrError(f"npm {value}: cannot resolve: {_failure(output)}")
            lock = json.loads(Path(work, "package-lock.json").read_text(encoding="utf-8"))
        packages = lock.get("packages", {})
        tree = {path: _canonical(entry) for path, entry in packages.items() if path}
        top = packages.get(f"node_modules/{name}", {})
        return {"version": str(top.get("version", version or "latest")), "tree": tree}

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        out = out.absolute()  # npm runs with out as its working directory
        value = _value(spec)
        environ = dict(ctx.environ or os.environ)  # ctx.environ, when given, is the whole environment
        runtime = ctx.inputs.get(spec.uses["node"].name) if "node" in spec.uses else None
        _, npm = _tools(environ, runtime)
        if runtime is not None:  # npm and every install script run on the project's node
            environ["PATH"] = os.pathsep.join([str(runtime / ".envr" / "bin"), environ.get("PATH", os.defpath)])
        target = str(_tarball_path(spec, value)) if is_tarball(value) else value
        if is_tarball(value):
            _tarball_manifest(spec, Path(target))  # a clear error if it is missing or not a tarball
            expected = spec.locked.get("sha256") if spec.locked is not None else None
            actual = file_sha256(target) if expected is not None else None
            if actual != expected:
                raise EnvrError(
                    f"npm {value}: sha256 mismatch: envr.lock has {expected}, "
                    f"the file has {actual}; run envr lock if the change is intended"
                )
        if spec.locked is not None and "tree" in spec.locked:
            self._realise_locked(spec, out, ctx, environ, npm)
            return
        argv = [
            npm,
            "install",
            "--global",
            "--prefix",
            str(out),
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
            "--loglevel",
            "http",
            target,
        ]
        try:
            code, output = _run(spec, argv, out, environ, ctx)
        except OSError as exc:
            raise EnvrError(f"npm {value}: cannot run npm ({exc}); {NO_NODE}") from None
        if code != 0:
            raise EnvrError(f"npm {value}: npm install failed (exit {code}): {_failure(output)} (log: {ctx.log_path})")

    def _realise_locked(
        self, spec: PackageSpec, out: Path, ctx: RealiseContext, environ: dict[str, str], npm: str
    ) -> None:
        """`npm ci` in a wrapper project (out itself) whose package-lock is exactly the locked tree: npm checks
        every tarball's integrity and resolves nothing."""
        assert spec.locked is not None
        name, _ = split_spec(_value(spec))
        version = str(spec.locked.get("version"))
        tree = {path: json.loads(text) for path, text in dict(spec.locked["tree"]).items()}
        root = {"name": "envr-tool", "version": "0.0.0", "dependencies": {name: version}}
        (out / "package.json").write_text(json.dumps({**root, "private": True}, indent=2), encoding="utf-8")
        lock = {
            "name": "envr-tool",
            "version": "0.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {"": root, **tree},
        }
        (out / "package-lock.json").write_text(json.dumps(lock, indent=2), encoding="utf-8")
        argv = [npm, "ci", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel", "http"]
        code, output = _run(spec, argv, out, environ, ctx)
        if code != 0:
            raise EnvrError(
                f"npm {name}@{version}: npm ci from envr.lock failed (exit {code}): "
                f"{_failure(output)} (log: {ctx.log_path})"
            )

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        if (out / "package-lock.json").is_file() and (out / "node_modules").is_dir():  # a locked (npm ci) install
            name, _ = split_spec(_value(spec))
            try:
                manifest = json.loads((out / "node_modules" / name / "package.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return []
            declared = manifest.get("bin") if isinstance(manifest, dict) else None
            names = [name.rsplit("/", 1)[-1]] if isinstance(declared, str) else list(declared or {})
            return sorted(f"node_modules/.bin/{n}" for n in names if (out / "node_modules" / ".bin" / n).exists())
        bindir = out / "bin"
        if not bindir.is_dir():
            return []
        return sorted(f"bin/{p.name}" for p in bindir.iterdir() if p.is_file() and os.access(p, os.X_OK))


SOURCE: Source = NpmSource()  # annotated: mypy checks the kind implements the whole interface
