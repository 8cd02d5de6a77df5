"""The project file: finding the nearest envr.toml and turning it into a validated Project.

Every refusal names the file, line and column so a user can jump straight to the mistake. tomllib knows
positions only for syntax errors, so for schema errors the key is located again in the source text.
"""

from __future__ import annotations

import os

from envr.errors import ProjectFileError

TYPE_CHECKING = False  # typing's import costs the prompt ~2 ms; mypy still reads the block below

if TYPE_CHECKING:
    from typing import Any

FILENAME = "envr.toml"
LOCKNAME = "envr.lock"
FORMAT_VERSION = 1

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")


def valid_name(name: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_]*, checked without `re`: this module sits on the prompt's path."""
    return bool(name) and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name)


# Variables envr manages itself, the shells own, or that a project must reach through [path].
RESERVED = frozenset(
    {
        "ENVR_ROOT",
        "ENVR_STATE",
        "ENVR_PROFILE",  # the profile's PATH entry, which the core takes back exactly
        "ENVR_SHELL_PACKAGES",  # set by envr shell -p
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
        "PATH",
        # read-only or magic in bash
        "BASHOPTS",
        "SHELLOPTS",
        "BASHPID",
        "BASH_VERSINFO",
        "EUID",
        "UID",
        "PPID",
        "GROUPS",
        # read-only or magic in zsh and fish
        "status",
        "pipestatus",
        "argv",
        "version",
        "FISH_VERSION",
        "fish_pid",
        "hostname",
        "history",
        "PIPESTATUS",
        "ZSH_VERSION",
        "ZSH_SUBSHELL",
        # zsh ties these arrays to PATH, FPATH, CDPATH, MANPATH: setting one would clobber the other
        "path",
        "fpath",
        "cdpath",
        "manpath",
        "mailpath",
        "module_path",
    }
)
HOOK_PREFIXES = ("_envr", "__envr")  # the hooks' own variables

SECTIONS = ("env", "path", "packages")
PATH_KEYS = ("prepend", "append")


class Project:
    """A parsed, validated envr.toml. Values are still templates: see activate.interpolate.

    A plain class rather than a dataclass: the prompt's lean path cannot afford dataclasses' import.
    """

    __slots__ = ("append", "content", "env", "file", "packages", "prepend", "root")

    def __init__(
        self,
        root: str,
        file: str,
        content: bytes,
        env: dict[str, str | None],
        prepend: tuple[str, ...] = (),
        append: tuple[str, ...] = (),
        packages: dict[str, Any] | None = None,
    ) -> None:
        self.root = root
        self.file = file
        self.content = content
        self.env = env
        self.prepend = prepend
        self.append = append
        self.packages: dict[str, Any] = packages or {}

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


def find_project_file(start: str) -> str | None:
    """The nearest envr.toml at or above start (a directory), by logical path."""
    d = os.path.abspath(start)
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

    where = _Locator(path, text)
    for key, value in data.items():
        if key == "version":
            if type(value) is not int or value != FORMAT_VERSION:
                raise where.error(
                    None,
                    "version",
                    f"unsupported version {value!r}; this envr reads version {FORMAT_VERSION}",
                )
        elif key not in SECTIONS:
            raise where.error(None, key, f"unknown section or key '{key}' (expected one of: {', '.join(SECTIONS)})")
        elif not isinstance(value, dict):
            raise where.error(None, key, f"'{key}' must be a table, like [{key}]")

    env = _parse_env(data.get("env", {}), where)
    prepend, append = _parse_path(data.get("path", {}), where)
    packages = data.get("packages", {})
    return Project(os.path.dirname(path), path, content, env, prepend, append, packages)


def _parse_env(table: dict[str, Any], where: _Locator) -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    for name, value in table.items():
        if not valid_name(name):
            raise where.error("env", name, f"invalid variable name {name!r} (must match [A-Za-z_][A-Za-z0-9_]*)")
        if name in RESERVED or name.startswith(HOOK_PREFIXES):
            hint = "; use [path] prepend/append" if name == "PATH" else ""
            raise where.error("env", name, f"envr must not set {name}{hint}")
        if value is False:
            env[name] = None
        elif isinstance(value, str):
            if "\0" in value:
                raise where.error("env", name, f"env.{name} contains a NUL character, which no environment can hold")
            env[name] = value
        else:
            raise where.error("env", name, f"env.{name} must be a string or false (to unset), not {_type_name(value)}")
    return env


def _parse_path(table: dict[str, Any], where: _Locator) -> tuple[tuple[str, ...], tuple[str, ...]]:
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
    return lists.get("prepend", ()), lists.get("append", ())


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
        return None, None
