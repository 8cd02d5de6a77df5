"""PyPI tools: each entry is one Python distribution installed in its own relocatable venv inside the store path.

Entry forms (envr.toml ``[packages]``)::

    ruff = "pypi:ruff==0.6.9"                                   # shorthand, expanded by packages.py
    black = { pypi = "black==24.8.0", extras = ["jupyter"], python = "3.12" }

``pypi`` is a PEP 508 requirement with a name (extras and markers allowed, e.g. ``"black[d]>=24"``; a URL
requirement ``"name @ https://..."`` too). ``extras`` adds extras; ``python`` picks the interpreter (a version
such as ``"3.12"``, resolved by uv, which may download it); without it the interpreter envr itself runs on
(same major.minor) is used. The store path hashes the interpreter's major.minor, so changing it rebuilds.

Realising runs ``uv venv --relocatable`` then ``uv pip install --link-mode copy --compile-bytecode``: copy mode
because uv hardlinks from its cache by default and the store makes its files read-only; bytecode compiled up
front because a read-only venv cannot write ``__pycache__`` later; relocatable so the build can happen in a
temporary directory that is renamed into place.

Index settings (UV_* and translated PIP_* variables, see uv_index.py) go into the recipe, because they can
change what gets installed. uv runs with the store directory as its working directory
so a project's own ``uv.toml``/``pyproject.toml`` does not silently change the build.

uv gets envr's ENVR_HTTP_TIMEOUT and the system trust store unless the user chose otherwise, runs in its own
process group that dies with envr, and its output streams into the live progress lines (see _tools.py).

Only the distribution's own ``console_scripts`` and ``gui_scripts`` are exposed, never ``python``, ``pip``,
``activate`` or the scripts of its dependencies.
"""

from __future__ import annotations

import configparser
import csv
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envr.errors import EnvrError, ProjectFileError
from envr.store.sources import _tools
from envr.store.sources._interpreters import interpreter_recipe as _interpreter_recipe
from envr.store.sources._interpreters import python_version as _python
from envr.store.sources._interpreters import uv_python as _uv_python
from envr.store.sources.base import (
    CliSpec,
    Dependency,
    PackageSpec,
    RealiseContext,
    always_matches,
    claims_nothing,
    never_in_place,
    once,
    run_logged,
)
from envr.store.sources.uv_index import index_flags, index_settings, uv_environ, watched_variables

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.store.sources.base import Source

_PYTHON_VERSION = re.compile(r"^[23]\.\d{1,3}(\.\d{1,3})?$")
_EXTRA = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")

_uv: list[str | None] = [None]


def uv_bin() -> str:
    """The uv executable shipped with the `uv` Python package (a runtime dependency of envr), found once for
    the process under a lock: uv.find_uv_bin() reads sysconfig, whose first use is not thread-safe on 3.11."""
    found: str = once(_find_uv, _uv)
    return found


def _find_uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError as exc:  # pragma: no cover - uv is a declared dependency
        raise EnvrError("the uv Python package is missing; reinstall envr (pipx install envr-cli pulls in uv)") from exc
    try:
        return str(find_uv_bin())
    except FileNotFoundError as exc:  # pragma: no cover
        raise EnvrError(f"uv binary not found ({exc}); reinstall the uv package") from exc


KEYS = ("pypi", "extras", "python")  # common keys such as `prefer` are removed by packages.py first


def _err(spec: PackageSpec, message: str) -> ProjectFileError:
    return ProjectFileError(spec.project_file, f"packages.{spec.name}: {message}", spec.line)


def _parse(spec: PackageSpec) -> Requirement:
    raw = spec.entry.get("pypi")
    if not isinstance(raw, str) or not raw.strip():
        raise _err(spec, 'key "pypi" must be a requirement string such as "ruff==0.6.9"')
    try:
        return Requirement(raw.strip())
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise _err(spec, f'key "pypi" is not a valid PEP 508 requirement ({raw!r}: {first})') from None


def _extras(spec: PackageSpec, req: Requirement) -> list[str]:
    extra = spec.entry.get("extras", [])
    names = set(req.extras)
    names.update(extra)
    return sorted({canonicalize_name(e) for e in names})


def _pin(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _requirement_string(req: Requirement, extras: list[str]) -> str:
    norm = Requirement(str(req))
    norm.name = canonicalize_name(req.name)
    norm.extras = set(extras)
    return str(norm)


def _last_error(log_text: str) -> str:
    """The most useful line of uv's output: its `error:` line joined with the last `cause:` under it."""
    lines = [re.sub(r"^[\s\u00d7\u2570\u2500\u25b6\u2502\u251c]+", "", line).strip() for line in log_text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("error:"):
            message = lines[i][len("error:") :].strip()
            causes = [line[len("cause:") :].strip() for line in lines[i + 1 :] if line.startswith("cause:")]
            if causes:
                message = f"{message.rstrip(':')}: {causes[-1]}"
            return message
    return lines[-1] if lines else "no output"


class PypiSource:
    kind: ClassVar[str] = "pypi"
    shorthand: ClassVar[bool] = True
    resolves: ClassVar[bool] = True
    cli_form: ClassVar[str | None] = "pypi:REQUIREMENT"
    provides: ClassVar[str | None] = None
    claims = staticmethod(claims_nothing)
    builds_in_place = staticmethod(never_in_place)
    check_locked = staticmethod(always_matches)  # a requirement's resolution is the lock's own business

    def needs(self, spec: PackageSpec) -> list[str]:
        """Built on the project's python runtime when it pins one."""
        return ["python"]

    def depends_on(self, spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
        """Unlocked, the index settings (read from the environment) name the store path; locked, nothing."""
        if spec.locked is not None:
            return []
        names = watched_variables()
        return [("env", name, environ.get(name)) for name in names]

    def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
        """pypi:REQUIREMENT, named after the distribution (canonical: Cow_Say -> cow-say)."""
        try:
            req = Requirement(rest)
        except InvalidRequirement as e:
            raise EnvrError(f"{text!r}: not a valid requirement ({str(e).splitlines()[0]})") from None
        pinned = req.url is not None or any(s.operator in ("==", "===") for s in req.specifier)

        def pin(version: str) -> str:
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            return f"{self.kind}:{req.name}{extras}=={version}"

        return CliSpec(text, self.kind, canonicalize_name(req.name), f"{self.kind}:{rest}", None if pinned else pin)

    def validate(self, spec: PackageSpec) -> None:
        unknown = sorted(k for k in spec.entry if k not in KEYS)
        if unknown:
            raise _err(
                spec, f"unknown key {unknown[0]!r} for a {self.kind} package (allowed: pypi, extras, python, prefer)"
            )
        req = _parse(spec)
        if req.marker is not None:
            raise _err(spec, f'key "pypi": environment markers are not supported here ({req.marker})')
        extras = spec.entry.get("extras", [])
        if not isinstance(extras, list) or not all(isinstance(e, str) and _EXTRA.match(e) for e in extras):
            raise _err(spec, 'key "extras" must be a list of extra names such as ["jupyter"]')
        python = spec.entry.get("python")
        if python is not None and (not isinstance(python, str) or not _PYTHON_VERSION.match(python)):
            raise _err(spec, f'key "python" must be a version string such as "3.12", not {python!r}')

    def version(self, spec: PackageSpec) -> str:
        if spec.locked and spec.locked.get("version"):
            return str(spec.locked["version"])
        return _pin(_parse(spec)) or "unpinned"

    def recipe(self, spec: PackageSpec) -> dict[str, Any]:
        req = _parse(spec)
        extras = _extras(spec, req)
        if spec.locked is not None:  # the exact resolution, not the index settings, names the store path
            return {
                "kind": self.kind,
                "requirement": _requirement_string(req, extras),
                **_interpreter_recipe(spec),
                "locked": [*spec.locked.get("requirements", []), *spec.locked.get("hashes", [])],
                "installer": "uv venv --relocatable; uv pip install --require-hashes --no-deps --link-mode copy",
            }
        return {
            "kind": self.kind,
            "requirement": _requirement_string(req, extras),
            "extras": extras,
            **_interpreter_recipe(spec),
            "index": index_settings(os.environ),
            "installer": "uv venv --relocatable; uv pip install --link-mode copy --compile-bytecode",
        }

    def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
        """The full dependency set with exact versions and every artifact's sha256: a universal resolution
        (`uv pip compile --universal --generate-hashes`), so Linux and macOS teammates share one lock."""
        from envr import progress

        req = _parse(spec)
        requirement = _requirement_string(req, _extras(spec, req))
        env = _tools.uv_env(uv_environ(environ))
        argv = [uv_bin(), "pip", "compile", "--no-progress", "--color", "never", "--universal", "--generate-hashes"]
        argv += ["--no-header", "--no-annotate", "--python-version", _major_minor(_python(spec))]
        argv += [*index_flags(env), "-"]
        phases = _tools.UvPhases(spec.name, progress.phase)
        said: list[str] = []

        def on_line(line: str) -> None:
            said.append(line)
            phases(line)

        phases.start("resolving")
        try:
            with tempfile.TemporaryDirectory(prefix="envr-lock-") as cwd:  # no project uv.toml/pyproject applies
                code, compiled = run_logged(argv, cwd, env, None, on_line, requirement + "\n", stdout_apart=True)
        finally:
            progress.phase(spec.name, None)
        if code != 0:
            text = "\n".join(said) or compiled
            hint = _tools.uv_tls_hint(text, environ)
            raise EnvrError(f"pypi {requirement}: cannot resolve: {_last_error(text)}" + (f"; {hint}" if hint else ""))
        requirements, hashes = parse_compiled(compiled)
        return {
            "version": _tools.installed_version(_python(spec), req, requirements),
            "python": _major_minor(_python(spec)),
            "requirements": requirements,
            "hashes": hashes,
        }

    def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
        out = out.absolute()  # uv runs with out as its working directory
        req = _parse(spec)
        requirement = _requirement_string(req, _extras(spec, req))
        environ = ctx.environ or os.environ  # ctx.environ, when given, is the whole environment
        env = _tools.uv_env(uv_environ(environ))
        uv = uv_bin()
        venv = out / "venv"
        common = ["--no-progress", "--color", "never"]
        install: list[str] = [requirement]
        if spec.locked is not None:  # exactly the locked artifacts, hash-checked, nothing resolved
            reqs = ctx.log_path.parent / f"{out.name}.requirements.txt"
            reqs.parent.mkdir(parents=True, exist_ok=True)
            reqs.write_text(locked_requirements(spec.locked), encoding="utf-8")
            install = ["--require-hashes", "--no-deps", "-r", str(reqs)]
        steps = [
            ("creating the venv", [uv, "venv", *common, "--relocatable", "--python", _uv_python(spec, ctx), str(venv)]),
            ("installing", [uv, "pip", "install", *common, "--link-mode", "copy", "--compile-bytecode",
                            "--python", str(venv / "bin" / "python"), *index_flags(env), *install]),
        ]  # fmt: skip
        phases = _tools.UvPhases(spec.name, ctx.phase)
        try:
            for what, argv in steps:
                phases.start("creating venv" if argv[1] == "venv" else "resolving")
                code, output = run_logged(argv, out, env, ctx.log_path, phases)
                if code != 0:
                    mismatch = _hash_mismatch(output)
                    if mismatch:
                        raise EnvrError(f"pypi {requirement}: {mismatch}; refusing it (log: {ctx.log_path})")
                    hint = _tools.uv_tls_hint(output, environ)
                    raise EnvrError(
                        f"pypi {requirement}: uv failed {what} (exit {code}): {_last_error(output)}"
                        + (f"; {hint}" if hint else "")
                        + f" (log: {ctx.log_path})"
                    )
        finally:
            ctx.phase(spec.name, None)
        if not self._dist_info(spec, out):
            raise EnvrError(
                f"pypi {requirement}: uv reported success but {req.name} is not installed (log: {ctx.log_path})"
            )

    def _dist_info(self, spec: PackageSpec, out: Path) -> Path | None:
        name = canonicalize_name(_parse(spec).name)
        for site in sorted((out / "venv" / "lib").glob("python*/site-packages")):
            for info in site.glob("*.dist-info"):
                if canonicalize_name(info.name[: -len(".dist-info")].rsplit("-", 1)[0]) == name:
                    return info
        return None

    def bins(self, spec: PackageSpec, out: Path) -> list[str]:
        """The distribution's own executables: its console/gui scripts, plus scripts it ships in its wheel's
        .data/scripts (how binary tools such as ruff install their executable), as listed in its RECORD."""
        info = self._dist_info(spec, out)
        if info is None:
            return []
        names = _entry_point_scripts(info) | _recorded_scripts(info, out / "venv" / "bin")
        found = []
        for script in sorted(names - NEVER_EXPOSED):
            rel = f"venv/bin/{script}"
            if script and "/" not in script and (out / rel).is_file():
                found.append(rel)
        return found


def parse_compiled(text: str) -> tuple[list[str], list[str]]:
    """`uv pip compile --generate-hashes` output -> (sorted "name==version ; marker" lines, sorted
    "name==version sha256:HEX" lines, one per artifact)."""
    joined = re.sub(r"\\\n", " ", text)
    requirements: list[str] = []
    hashes: list[str] = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        parts = line.split(" --hash=")
        requirement = " ".join(parts[0].split())
        requirements.append(requirement)
        pinned = requirement.split(";")[0].strip()
        hashes.extend(f"{pinned} {h.strip()}" for h in parts[1:])
    return sorted(set(requirements)), sorted(set(hashes))


def locked_requirements(locked: Mapping[str, Any]) -> str:
    """A requirements file for `uv pip install --require-hashes --no-deps` from a lock entry."""
    by_pin: dict[str, list[str]] = {}
    for line in locked.get("hashes", []):
        pin, _, digest = str(line).rpartition(" ")
        by_pin.setdefault(pin, []).append(digest)
    out = []
    for requirement in locked.get("requirements", []):
        pin = str(requirement).split(";")[0].strip()
        out.append(" ".join([str(requirement), *(f"--hash={d}" for d in by_pin.get(pin, []))]))
    return "\n".join(out) + "\n"


def _hash_mismatch(log_text: str) -> str | None:
    """uv's hash-mismatch report as one line naming the artifact and both hashes, if that is what failed."""
    m = re.search(r"Hash mismatch for `([^`]+)`", log_text)
    if not m:
        return None
    expected = re.search(r"Expected:\s*(\S+)", log_text)
    computed = re.search(r"Computed:\s*(\S+)", log_text)
    return (
        f"hash mismatch for {m.group(1)}: envr.lock has {expected.group(1) if expected else '?'}, "
        f"the download has {computed.group(1) if computed else '?'}"
    )


NEVER_EXPOSED = frozenset(
    {
        "python",
        "python3",
        "pip",
        "pip3",
        "activate",
        "activate.csh",
        "activate.fish",
        "activate.nu",
        "activate.ps1",
        "activate_this.py",
        "deactivate.nu",
        "pydoc.bat",
    }
)


def _entry_point_scripts(info: Path) -> set[str]:
    if not (info / "entry_points.txt").is_file():
        return set()
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string((info / "entry_points.txt").read_text(encoding="utf-8"))
    except (configparser.Error, UnicodeDecodeError):
        return set()
    names: set[str] = set()
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            names.update(key.strip() for key in parser.options(section))
    return names


def _recorded_scripts(info: Path, bindir: Path) -> set[str]:
    try:
        text = (info / "RECORD").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    names = set()
    for row in csv.reader(text.splitlines()):
        if row and (info.parent / row[0]).resolve().parent == bindir.resolve():
            names.add(Path(row[0]).name)
    return names


SOURCE: Source = PypiSource()  # annotated: mypy checks the kind implements the whole interface
