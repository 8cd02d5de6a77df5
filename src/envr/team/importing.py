"""`envr import`: an envr.toml from what a repository already has for mise, asdf, nvm, pyenv and direnv.

Read (each only if present, in this order; the first to name a runtime wins, later ones are noted):
- `mise.toml` / `.mise.toml`: [tools] (`node`, `python`, `go`; `"npm:NAME" = "VER"` and `"pipx:NAME" = "VER"`
  become npm and pypi packages), [env] (strings; `_.path` -> [path] prepend, `_.file` -> dotenv);
- `.tool-versions`: `nodejs`/`node`, `python`, `golang`/`go` lines (the first version of each);
- `.nvmrc` / `.node-version` / `.python-version`: kept as the source of truth (`{ version-file = ... }`);
- `.envrc` (a simple one): `export NAME=value` (`$NAME`/`${NAME}` kept as envr templates, `$PWD` as the project
  root), `PATH_add DIR`, `dotenv [FILE]`, `dotenv_if_exists FILE`, `layout python` ([python] venv).
Everything else is reported, one line each with its file and line, and left out: envr never guesses.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from envr.errors import EnvrError

RUNTIMES = {"node": "node", "nodejs": "node", "python": "python", "go": "go", "golang": "go"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PKG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class Imported:
    """What the files say, as envr.toml parts, and what could not be translated."""

    def __init__(self) -> None:
        self.packages: dict[str, Any] = {}
        self.env: dict[str, str] = {}
        self.prepend: list[str] = []
        self.dotenv: list[Any] = []
        self.venv: str | None = None
        self.skipped: list[str] = []  # "file:line: what (why)"
        self.read: list[str] = []

    def runtime(self, kind: str, value: Any, where: str) -> None:
        if kind in self.packages:
            self.skipped.append(f"{where}: {kind} is already taken from {self.packages_from[kind]}")
            return
        self.packages[kind] = value
        self.packages_from[kind] = where

    packages_from: dict[str, str]


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    raise TypeError(value)


def _key(k: str) -> str:
    return k if re.match(r"^[A-Za-z0-9_-]+$", k) else _q(k)


def gather(root: str) -> Imported:
    found = Imported()
    found.packages_from = {}
    for name in ("mise.toml", ".mise.toml"):
        if os.path.isfile(os.path.join(root, name)):
            _mise(root, name, found)
    if os.path.isfile(os.path.join(root, ".tool-versions")):
        _tool_versions(root, found)
    for name, kind in ((".nvmrc", "node"), (".node-version", "node"), (".python-version", "python")):
        if os.path.isfile(os.path.join(root, name)):
            found.read.append(name)
            found.runtime(kind, {"version-file": name}, name)
    if os.path.isfile(os.path.join(root, ".envrc")):
        _envrc(root, found)
    return found


def _read(root: str, name: str) -> str:
    from envr.fsutil import read_regular

    try:
        return read_regular(os.path.join(root, name), 1 << 20).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EnvrError(f"{os.path.join(root, name)}: cannot read ({getattr(e, 'strerror', None) or e})") from None


def _mise(root: str, name: str, found: Imported) -> None:
    import tomllib

    found.read.append(name)
    text = _read(root, name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found.skipped.append(f"{name}: not valid TOML ({e}); nothing taken from it")
        return
    lines = text.splitlines()

    def at(key: str) -> str:
        n = next((i for i, line in enumerate(lines, 1) if line.lstrip().startswith((key, f'"{key}"'))), None)
        return f"{name}:{n}" if n else name

    for tool, value in (data.get("tools") or {}).items():
        version = value.get("version") if isinstance(value, dict) else value
        if isinstance(version, list):
            if len(version) > 1:
                found.skipped.append(f"{at(tool)}: {tool} lists {version}; envr pins one, took {version[0]}")
            version = version[0] if version else None
        if not isinstance(version, str):
            found.skipped.append(f"{at(tool)}: {tool} has no version string")
            continue
        backend, _, package = tool.partition(":")
        if tool in RUNTIMES:
            found.runtime(RUNTIMES[tool], f"{RUNTIMES[tool]}:{version}", at(tool))
        elif backend == "npm" and package:
            found.packages[package.rsplit("/", 1)[-1]] = f"npm:{package}@{version}"
        elif backend == "pipx" and _PKG.match(package):
            found.packages[package] = f"pypi:{package}" + ("" if version == "latest" else f"=={version}")
        else:
            found.skipped.append(f"{at(tool)}: tool {tool} = {version!r} (envr has no such source)")
    for key, value in (data.get("env") or {}).items():
        if key == "_" and isinstance(value, dict):
            for sub, what in value.items():
                items = what if isinstance(what, list) else [what]
                if sub == "path" and all(isinstance(i, str) for i in items):
                    found.prepend += [_template(i) for i in items]
                elif sub == "file" and all(isinstance(i, str) for i in items):
                    found.dotenv += items
                else:
                    found.skipped.append(f"{at('_')}: env._.{sub} (no envr equivalent)")
        elif isinstance(value, str) and _NAME.match(key):
            found.env[key] = _template(value)
        elif value is False and _NAME.match(key):
            found.skipped.append(f"{at(key)}: env.{key} = false (mise unsets it; write {key} = false yourself)")
        else:
            found.skipped.append(f"{at(key)}: env.{key} (not a plain string)")
    for section in sorted(set(data) - {"tools", "env"}):
        found.skipped.append(f"{name}: [{section}] (no envr equivalent)")


def _tool_versions(root: str, found: Imported) -> None:
    found.read.append(".tool-versions")
    for n, line in enumerate(_read(root, ".tool-versions").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f".tool-versions:{n}"
        if len(words) < 2:
            found.skipped.append(f"{where}: {line.strip()!r} has no version")
        elif words[0] in RUNTIMES:
            if len(words) > 2:
                found.skipped.append(f"{where}: {words[0]} lists {len(words) - 1} versions; took {words[1]}")
            kind = RUNTIMES[words[0]]
            found.runtime(kind, f"{kind}:{words[1]}", where)
        else:
            found.skipped.append(f"{where}: {words[0]} {words[1]} (envr has no {words[0]} runtime)")


def _template(value: str) -> str:
    """A shell-ish value as an envr template: $NAME and ${NAME} -> ${NAME}, $PWD -> ${ENVR_ROOT}; a lone $ as $$."""
    out = []
    i = 0
    while i < len(value):
        m = _VAR.match(value, i)
        if m:
            name = m.group(1) or m.group(2)
            out.append("${ENVR_ROOT}" if name == "PWD" else "${" + name + "}")
            i = m.end()
        elif value[i] == "$":
            out.append("$$")
            i += 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _envrc(root: str, found: Imported) -> None:
    import shlex

    found.read.append(".envrc")
    for n, raw in enumerate(_read(root, ".envrc").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f".envrc:{n}"
        if "$(" in line or "`" in line or any(c in line for c in ";|&<>") or "\\" in line:
            found.skipped.append(f"{where}: {line[:60]!r} (runs commands: envr never runs a file's code)")
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            found.skipped.append(f"{where}: {line[:60]!r} (unbalanced quotes)")
            continue
        if not words:
            continue
        if words[0] == "export" and len(words) >= 2:
            for word in words[1:]:
                name, eq, value = word.partition("=")
                if not eq or not _NAME.match(name) or name == "PATH":
                    what = "PATH: use PATH_add" if name == "PATH" else f"{word[:40]!r}"
                    found.skipped.append(f"{where}: export {what}")
                    continue
                single = f"{name}='" in line  # single quotes: no expansion in the shell either
                found.env[name] = value.replace("$", "$$") if single else _template(value)
        elif words[0] == "PATH_add" and len(words) >= 2:
            found.prepend += [_template(w) for w in words[1:]]
        elif words[0] in ("dotenv", "dotenv_if_exists") and len(words) <= 2:
            file = words[1] if len(words) == 2 else ".env"
            found.dotenv.append({"file": file, "optional": True} if words[0] == "dotenv_if_exists" else file)
        elif words[:2] in (["layout", "python"], ["layout", "python3"]):
            found.venv = ".venv"
            found.skipped.append(f'{where}: layout python -> [python] venv = ".venv" (direnv used .direnv/python-X)')
        else:
            found.skipped.append(f"{where}: {line[:60]!r} (not export, PATH_add, dotenv or layout python)")


def render(found: Imported) -> str:
    lines = ["# envr.toml, written by `envr import` from " + ", ".join(found.read) + "."]
    lines.append("# Review it, then run `envr allow` (and `envr lock` to pin exact versions for your platforms).")
    if found.dotenv:
        lines.append(f"dotenv = {_value(found.dotenv)}")
    if found.env:
        lines += ["", "[env]", *(f"{_key(k)} = {_q(v)}" for k, v in found.env.items())]
    if found.prepend:
        lines += ["", "[path]", f"prepend = {_value(found.prepend)}"]
    if found.packages:
        lines += ["", "[packages]", *(f"{_key(k)} = {_value(v)}" for k, v in found.packages.items())]
    if found.venv:
        lines += ["", "[python]", f"venv = {_q(found.venv)}"]
    return "\n".join(lines) + "\n"


def import_project(root: str, write: bool = True) -> tuple[str, str, list[str]]:
    """(envr.toml path, its text, what was not translated). Refuses to overwrite an envr.toml, to write a file
    from nothing, or one that would not load."""
    from envr.fsutil import write_atomic
    from envr.project.file import FILENAME
    from envr.project.load import parse

    root = os.path.abspath(root)
    target = os.path.join(root, FILENAME)
    found = gather(root)
    if not found.read:
        raise EnvrError(f"{root}: nothing to import (no mise.toml, .tool-versions, .nvmrc, .python-version, .envrc)")
    text = render(found)
    parse(target, text.encode())  # what is written loads (file:line:col if envr would refuse it)
    if write:
        if os.path.lexists(target):
            raise EnvrError(f"{target} exists; envr import writes a new one only (--stdout prints it)")
        write_atomic(target, text)
    return target, text, found.skipped
