"""The project file: finding the nearest envr.toml and turning it into a validated Project.

Every refusal names the file, line and column so a user can jump straight to the mistake. tomllib knows
positions only for syntax errors, so for schema errors the key is located again in the source text.
"""

from __future__ import annotations

import os

from envr.errors import ProjectFileError
from envr.project.limits import (
    ENV_SHARE,
    MAX_ARG_STRLEN,
    POINTER,
    _over_share,
    _over_strlen,
    arg_max,
    env_bytes,
    path_growth,
)
from envr.project.settings import parse_platforms, parse_python
from envr.project.templates import literal, valid_name

TYPE_CHECKING = False  # typing's import costs the prompt ~2 ms; mypy still reads the block below

if TYPE_CHECKING:
    from typing import Any

FILENAME = "envr.toml"
LOCKNAME = "envr.lock"
FORMAT_VERSION = 2  # 2 adds inherit, dotenv and commands in [env]; a file that says version = 1 may not use them
FORMAT_VERSIONS = (1, 2)

MAX_NESTING = 64  # where a refusal of deep nesting points: the first array or inline table deeper than this

SECTIONS = ("env", "path", "packages", "python")
TOP_KEYS = ("version", "inherit", "dotenv", "platforms")
COMMAND_TIMEOUT = 10.0  # seconds a secret command may take by default
PATH_KEYS = ("prepend", "append")


class Project:
    """A parsed, validated envr.toml. Values are still templates: see templates.interpolate.

    A plain class rather than a dataclass: the prompt's lean path cannot afford dataclasses' import.
    """

    __slots__ = (
        "append",
        "commands",
        "content",
        "dotenv",
        "env",
        "file",
        "inherit",
        "packages",
        "platforms",
        "prepend",
        "root",
        "venv",
    )

    def __init__(
        self,
        root: str,
        file: str,
        content: bytes,
        env: dict[str, str | None],
        prepend: tuple[str, ...] = (),
        append: tuple[str, ...] = (),
        packages: dict[str, Any] | None = None,
        inherit: bool = False,
        dotenv: tuple[tuple[str, bool, tuple[str, ...]], ...] = (),
        commands: dict[str, tuple[list[str], float]] | None = None,
        platforms: tuple[str, ...] = (),
        venv: tuple[str, str] | None = None,
    ) -> None:
        self.root = root
        self.file = file
        self.content = content
        self.env = env
        self.prepend = prepend
        self.append = append
        self.packages: dict[str, Any] = packages or {}
        self.inherit = inherit  # the nearest project above applies first, this one on top
        self.dotenv = dotenv  # (file relative to root, optional, names it may set that are otherwise refused)
        self.commands: dict[str, tuple[list[str], float]] = commands or {}  # NAME -> (argv, timeout): a secret
        self.platforms = platforms  # what envr lock resolves for (empty: this machine's platform only)
        # [python] venv: (its directory, the requirements file or "" for uv.lock/pyproject.toml), relative to
        # root. Its activation (VIRTUAL_ENV and <venv>/bin first on PATH) is already in env and prepend.
        self.venv = venv

    def cacheable(self) -> tuple[object, ...]:
        """What project.load's cache keeps (marshal-able), in the order from_cache takes it."""
        return (
            self.env,
            self.prepend,
            self.append,
            self.packages,
            self.inherit,
            self.dotenv,
            self.commands,
            self.platforms,
            self.venv,
        )

    @classmethod
    def from_cache(cls, file: str, content: bytes, data: tuple[Any, ...]) -> Project:
        root = os.path.dirname(file)
        return cls(root, file, content, *data)

    @property
    def lock_file(self) -> str:
        return os.path.join(self.root, LOCKNAME)


def logical_cwd() -> str:
    """The directory as the shell spells it ($PWD keeps symlinks), falling back to the physical one."""
    pwd = os.environ.get("PWD", "")
    if pwd.startswith("/"):
        try:
            if os.path.samefile(pwd, "."):
                return os.path.normpath(pwd)
        except OSError:
            pass
    try:
        return os.getcwd()
    except OSError:  # the directory was deleted under the shell: no project is there any more
        return os.path.normpath(pwd) if pwd.startswith("/") else "/"


def read_project_file(path: str) -> bytes:
    """A project file's bytes: a regular file of bounded size (never a fifo or a device), and not a symlink that
    leads out of its directory (what a reviewer sees in the repository is what is read)."""
    from envr.fsutil import read_regular

    if os.path.islink(path):
        real = os.path.realpath(path)
        inside = os.path.realpath(os.path.dirname(path))
        if not real.startswith(inside + os.sep):
            raise ProjectFileError(path, f"is a symbolic link to {real}, outside the project; envr reads only its own")
    try:
        return read_regular(path)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ProjectFileError(path, f"cannot read: {e.strerror or e}") from None


def find_project_file(start: str) -> str | None:
    """The nearest envr.toml at or above start (a directory), by logical path; none for a directory that was
    deleted under the shell (its project is not around it any more)."""
    d = os.path.abspath(start)
    if not os.path.isdir(d):
        return None
    while True:
        candidate = os.path.join(d, FILENAME)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def dirs_up(start: str, stop: str | None) -> list[str]:
    """start and its parents, up to but excluding stop (or up to / inclusive when stop is None)."""
    out = []
    d = os.path.abspath(start)
    while d != stop:
        out.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return out


def parse(path: str, content: bytes) -> Project:
    """The file's schema: top-level keys, [env] and [path]. [packages] is returned as written; project.load
    validates it with the sources (this module stays below them)."""
    import tomllib

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProjectFileError(path, "not valid UTF-8", content[: e.start].count(b"\n") + 1) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg, line, col = _split_toml_error(str(e))
        raise ProjectFileError(path, f"invalid TOML: {msg}", line, col) from None
    except RecursionError:  # tomllib recurses once per level of arrays and inline tables
        line, col = too_deep_at(text)
        why = f"arrays or inline tables nested too deeply to read (keep them under {MAX_NESTING} levels)"
        raise ProjectFileError(path, why, line, col) from None

    where = _Locator(path, text)
    for key, value in data.items():
        if key == "version":
            if type(value) is not int or value not in FORMAT_VERSIONS:
                raise where.error(
                    None,
                    "version",
                    f"unsupported version {value!r}; this envr reads versions 1 and {FORMAT_VERSION}",
                )
        elif key in TOP_KEYS:
            continue
        elif key not in SECTIONS:
            known = ", ".join((*SECTIONS, *TOP_KEYS))
            raise where.error(None, key, f"unknown section or key '{key}' (expected one of: {known})")
        elif not isinstance(value, dict):
            raise where.error(None, key, f"'{key}' must be a table, like [{key}]")

    root = os.path.dirname(path)
    table = data.get("env", {})
    env = _parse_env({k: v for k, v in table.items() if not isinstance(v, dict)}, where)
    commands = _parse_commands({k: v for k, v in table.items() if isinstance(v, dict)}, where)
    prepend, append = _parse_path(data.get("path", {}), where, root)
    _check_total(env, prepend + append, root, where)
    packages = data.get("packages", {})
    inherit = data.get("inherit", False)
    if not isinstance(inherit, bool):
        raise where.error(None, "inherit", f"inherit must be true or false, not {_type_name(inherit)}")
    dotenv = _parse_dotenv(data.get("dotenv", []), where)
    if data.get("version") == 1 and (inherit or dotenv or commands):
        used = "inherit" if inherit else "dotenv" if dotenv else "a command in [env]"
        raise where.error(None, "version", f"{used} needs version = 2 (or no version line)")
    platforms = parse_platforms(data.get("platforms", []), where)
    venv = parse_python(data.get("python", {}), where)
    if venv is not None:  # the venv's activation, as [env] and [path] would write it
        env.setdefault("VIRTUAL_ENV", "${ENVR_ROOT}/" + venv[0])
        prepend = (venv[0] + "/bin", *prepend)
    return Project(root, path, content, env, prepend, append, packages, inherit, dotenv, commands, platforms, venv)


def _parse_commands(table: dict[str, Any], where: _Locator) -> dict[str, tuple[list[str], float]]:
    """`NAME = { command = ["pass", "show", "x"], timeout = 5 }`: the value is what the command prints."""
    commands = {}
    for name, value in table.items():
        _parse_env({name: ""}, where)  # the same rules for the name as any [env] variable
        unknown = sorted(set(value) - {"command", "timeout"})
        if unknown:
            raise where.error("env", name, f"env.{name}: unknown key {unknown[0]!r} (expected command, timeout)")
        argv = value.get("command")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and "\0" not in a for a in argv):
            raise where.error(
                "env", name, f'env.{name}.command must be a non-empty array of strings, like ["pass", "show", "x"]'
            )
        timeout = value.get("timeout", COMMAND_TIMEOUT)
        if type(timeout) not in (int, float) or not 0 < timeout <= 600:
            raise where.error("env", name, f"env.{name}.timeout must be a number of seconds from 0 to 600")
        commands[name] = (list(argv), float(timeout))
    return commands


def _parse_dotenv(value: Any, where: _Locator) -> tuple[tuple[str, bool, tuple[str, ...]], ...]:
    """`dotenv = [".env", { file = ".env.local", optional = true, allow = ["NODE_OPTIONS"] }]`."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise where.error(None, "dotenv", f"dotenv must be an array of files, not {_type_name(value)}")
    out = []
    for item in value:
        entry = {"file": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or set(entry) - {"file", "optional", "allow"}:
            raise where.error(
                None, "dotenv", 'dotenv entries are "FILE" or { file = "FILE", optional = true, allow = ["NAME"] }'
            )
        file, optional, allow = entry.get("file"), entry.get("optional", False), entry.get("allow", [])
        if not isinstance(file, str) or not file or "\0" in file or os.path.isabs(file) or file.startswith("~"):
            raise where.error(None, "dotenv", f"dotenv file {file!r} must be a path relative to the project")
        if ".." in file.replace("\\", "/").split("/"):
            raise where.error(None, "dotenv", f"dotenv file {file!r} must stay inside the project")
        if not isinstance(optional, bool) or not isinstance(allow, list) or not all(valid_name(a) for a in allow):
            raise where.error(
                None, "dotenv", "dotenv: optional must be true or false, allow an array of variable names"
            )
        out.append((file, optional, tuple(allow)))
    return tuple(out)


def _parse_env(table: dict[str, Any], where: _Locator) -> dict[str, str | None]:
    from envr.project.names import refusal

    env: dict[str, str | None] = {}
    for name, value in table.items():
        if not valid_name(name):
            raise where.error("env", name, f"invalid variable name {name!r} (must match [A-Za-z_][A-Za-z0-9_]*)")
        why = refusal(name)
        if why is not None:
            raise where.error("env", name, f"envr must not set {name}: {why}")
        if value is False:
            env[name] = None
        elif isinstance(value, str):
            if "\0" in value:
                raise where.error("env", name, f"env.{name} contains a NUL character, which no environment can hold")
            size = env_bytes(name, literal(value))
            if size > MAX_ARG_STRLEN:
                raise where.error("env", name, f"env.{name} is {size:,} bytes as {name}=value, {_over_strlen()}")
            env[name] = value
        else:
            raise where.error("env", name, f"env.{name} must be a string or false (to unset), not {_type_name(value)}")
    return env


def _parse_path(table: dict[str, Any], where: _Locator, root: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    lists: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        if key not in PATH_KEYS:
            raise where.error("path", key, f"unknown key path.{key} (expected prepend or append)")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise where.error("path", key, f"path.{key} must be an array of strings, not {_type_name(value)}")
        for entry in value:
            if not entry or "\0" in entry:
                raise where.error("path", key, f"path.{key} has an empty entry or one with NUL")
        lists[key] = tuple(value)
        growth = path_growth(lists[key], root)
        if growth > MAX_ARG_STRLEN:
            raise where.error("path", key, f"path.{key} makes PATH {growth:,} bytes longer, {_over_strlen()}")
    return lists.get("prepend", ()), lists.get("append", ())


# --- what execve can carry (D12): the limits are in project/limits.py -------------------------------------


def _check_total(env: dict[str, str | None], paths: tuple[str, ...], root: str, where: _Locator) -> None:
    """Refuse a project whose whole change (its variables, ENVR_ROOT and the PATH growth) would take more than a
    safe share of ARG_MAX. Values with ${NAME} count as if NAME were empty: the rest is known only at activation,
    where the prompt's core checks the real environment with execve_problem."""
    total = env_bytes("ENVR_ROOT", root) + POINTER + path_growth(paths, root)
    for name, value in env.items():
        if value is not None:
            total += env_bytes(name, literal(value)) + POINTER
    if total > arg_max() // ENV_SHARE:
        line, col = where.find(None, "env")
        if line is None and env:
            line, col = where.find("env", next(iter(env)))
        raise ProjectFileError(where.path, f"[env] and [path] add {_over_share(total)}", line, col)


# --- deep nesting (D16) ------------------------------------------------------------------------------------


def too_deep_at(text: str, limit: int = MAX_NESTING) -> tuple[int | None, int | None]:
    """Line and column of the first array or inline table nested deeper than limit, skipping strings, comments
    and table headers; (None, None) if there is none. Only for error messages: a scan in Python is slow."""
    depth = 0
    line, start, i, n = 1, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line, start = line + 1, i + 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            quote = text[i : i + 3] if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                j += 2 if c == '"' and text[j] == "\\" else 1
            line += text.count("\n", i, j)
            if "\n" in text[i:j]:
                start = text.rindex("\n", i, j) + 1
            i = j + len(quote)
            continue
        elif c == "[" and depth == 0 and not text[start:i].strip():  # a table header, not a value
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                return line, i - start + 1
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None, None


def _type_name(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _split_toml_error(message: str) -> tuple[str, int | None, int | None]:
    import re

    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if m:
        return message[: m.start()], int(m.group(1)), int(m.group(2))
    m = re.search(r"\s*\(at end of document\)\s*$", message)
    if m:
        return message[: m.start()] + " at end of file", None, None
    return message, None, None


def locate(path: str, text: str, section: str, key: str) -> tuple[int | None, int | None]:
    """Line and column of key in [section], or of a [section.key] header, for errors tomllib cannot place."""
    where = _Locator(path, text)
    line, col = where.find(section, key)
    if line is None:
        line, col = where.find(None, f"{section}.{key}")
    return line, col


class _Locator:
    """Finds where a key sits in the source, for errors tomllib cannot place."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def error(self, section: str | None, key: str, message: str) -> ProjectFileError:
        line, col = self.find(section, key)
        return ProjectFileError(self.path, message, line, col)

    def find(self, section: str | None, key: str) -> tuple[int | None, int | None]:
        import re

        header_re = re.compile(r"\s*\[\s*([^\]\[]+?)\s*\]")
        key_re = re.compile(
            r"\s*(?:" + re.escape(key) + r"|\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"')\s*[=.]"
        )
        current: str | None = None
        for number, line in enumerate(self.lines, 1):
            header = header_re.match(line)
            if header:
                current = header.group(1).strip().strip("\"'")
                if section is None and current == key:
                    return number, line.index("[") + 1
                continue
            if current == section:
                m = key_re.match(line)
                if m:
                    return number, len(line) - len(line.lstrip()) + 1
            if section is not None and current is None:
                dotted = re.match(r"\s*" + re.escape(section) + r"\s*\.\s*" + re.escape(key) + r"\s*=", line)
                if dotted:
                    return number, len(line) - len(line.lstrip()) + 1
                inline = re.match(r"\s*" + re.escape(section) + r"\s*=\s*\{", line)  # env = { A = "1", ... }
                spelled = "(?:" + "|".join(re.escape(k) for k in (key, f'"{key}"', f"'{key}'")) + ")"
                item = inline and re.compile(r"[{,]\s*(" + spelled + r")\s*=").search(line, inline.end() - 1)
                if item:
                    return number, item.start(1) + 1
        return None, None
