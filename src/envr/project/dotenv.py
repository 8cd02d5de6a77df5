"""`.env` files, read as data: the syntax docker compose and python-dotenv accept, and nothing that runs.

    # a comment
    export NAME=value            # `export ` is allowed and ignored; an unquoted value ends at " #"
    NAME='single quotes: every character literal'
    NAME="double quotes: \\n \\t \\r \\" \\\\ \\$ are escapes, ${OTHER} expands, and the value may span lines"
    NAME=unquoted ${OTHER} too   # surrounding spaces trimmed

`${NAME}` (and `${NAME:-default}`) expands to NAME as defined earlier in the dotenv files, else as it was
before the project applied; `$$` is a literal `$`. There is no command substitution, ever: `$(...)` and
backticks are plain text.

A dotenv file is input from whoever pushed last: it is not covered by `envr allow` (it is data that changes, and
reloads at the next prompt). So the names a program loads code from, or that steer envr and the shells, are
refused from dotenv files unless the approved envr.toml allows them by name (`allow = ["NODE_OPTIONS"]`): a
pulled `.env` that sets LD_PRELOAD or PATH takes no effect without a reviewed, approved change.
"""

from __future__ import annotations

from envr.errors import ProjectFileError
from envr.project.templates import valid_name

# Names a program (or the dynamic loader, or a shell) takes code, a command or a library path from.
CODE_NAMES = frozenset(
    {
        "PATH",
        "BASH_ENV",
        "ENV",
        "PROMPT_COMMAND",
        "PS0",
        "PS1",
        "PS2",
        "PS3",
        "PS4",
        "IFS",
        "CDPATH",
        "ZDOTDIR",
        "SHELL",
        "PAGER",
        "GIT_PAGER",
        "MANPAGER",
        "EDITOR",
        "VISUAL",
        "BROWSER",
        "LESSOPEN",
        "LESSCLOSE",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONINSPECT",
        "PYTHONBREAKPOINT",
        "NODE_OPTIONS",
        "NODE_PATH",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "CLASSPATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_EXEC_PATH",
        "GIT_PROXY_COMMAND",
        "GIT_ASKPASS",
        "GIT_EXTERNAL_DIFF",
        "GIT_CONFIG",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_COUNT",
        "GIT_TEMPLATE_DIR",
        "HOME",
        "TMPDIR",
    }
)
CODE_PREFIXES = ("LD_", "DYLD_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "npm_config_", "UV_", "PIP_", "XDG_", "ENVR_")


def refused(name: str, allowed: tuple[str, ...]) -> str | None:
    """Why name may not come from a dotenv file (None: it may)."""
    from envr.project.names import refusal

    own = refusal(name)
    if own is not None:
        return own  # what envr.toml may not set either: no allow list lets a dotenv file set it
    if name in allowed:
        return None
    if name in CODE_NAMES or name.startswith(CODE_PREFIXES):
        return "programs load code from it; envr.toml must allow it by name"
    return None


def parse(path: str, text: str, scope: dict[str, str], reads: set[str] | None = None) -> list[tuple[str, str]]:
    """(name, value) pairs in file order. scope: what `${NAME}` sees (updated with each definition); reads
    collects the names expanded from outside the files."""
    reads = set() if reads is None else reads
    defined: set[str] = set()
    out: list[tuple[str, str]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        start_line = line
        end = text.find("\n", i)
        end = n if end < 0 else end
        raw = text[i:end]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i, line = end + 1, line + 1
            continue
        body = raw.lstrip()
        if body.startswith("export ") or body.startswith("export\t"):
            body = body[7:].lstrip()
        eq = body.find("=")
        name = body[:eq].strip() if eq > 0 else ""
        if not valid_name(name):
            raise ProjectFileError(path, "not NAME=value (a name is [A-Za-z_][A-Za-z0-9_]*)", start_line)
        offset = i + (len(raw) - len(raw.lstrip())) + (raw.lstrip().find(body)) + eq + 1
        rest = text[offset:]
        value, used = _value(path, rest, start_line, scope, _Reads(reads, defined))
        if "\0" in value:
            raise ProjectFileError(path, f"{name} holds a NUL character, which no environment can hold", start_line)
        out.append((name, value))
        scope[name] = value
        defined.add(name)
        consumed = text[offset : offset + used]
        line = start_line + consumed.count("\n") + 1
        nxt = text.find("\n", offset + used)
        i = n if nxt < 0 else nxt + 1
    return out


class _Reads:
    """Where _expand notes a name it took from outside the dotenv files."""

    def __init__(self, reads: set[str], defined: set[str]) -> None:
        self.reads, self.defined = reads, defined

    def note(self, name: str) -> None:
        if name not in self.defined:
            self.reads.add(name)


def _value(path: str, rest: str, line: int, scope: dict[str, str], reads: _Reads) -> tuple[str, int]:
    """The value at the start of rest (after `=`), and how many characters it took (up to its line's end)."""
    lead = len(rest) - len(rest.lstrip(" \t"))
    s = rest[lead:]
    if s.startswith("'"):
        close = s.find("'", 1)
        if close < 0 or "\n" in s[1:close]:
            raise ProjectFileError(path, "a single-quoted value is not closed on its line", line)
        _trailing(path, s[close + 1 :], line)
        return s[1:close], lead + close + 1
    if s.startswith('"'):
        out, j = [], 1
        while j < len(s):
            c = s[j]
            if c == "\\" and j + 1 < len(s):
                nxt = s[j + 1]
                out.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}.get(nxt, "\\" + nxt))
                j += 2
                continue
            if c == '"':
                _trailing(path, s[j + 1 :], line + s[:j].count("\n"))
                return _expand("".join(out), scope, reads), lead + j + 1
            out.append(c)
            j += 1
        raise ProjectFileError(path, "a double-quoted value is never closed", line)
    end = s.find("\n")
    text = s if end < 0 else s[:end]
    for k in range(len(text)):
        if text[k] == "#" and (k == 0 or text[k - 1] in " \t"):
            text = text[:k]
            break
    return _expand(text.strip(), scope, reads), lead + (len(s) if end < 0 else end)


def _trailing(path: str, after: str, line: int) -> None:
    rest = after.split("\n", 1)[0].strip()
    if rest and not rest.startswith("#"):
        raise ProjectFileError(path, f"unexpected {rest[:20]!r} after a quoted value", line)


def _expand(value: str, scope: dict[str, str], reads: _Reads) -> str:
    out, i = [], 0
    while True:
        j = value.find("$", i)
        if j < 0:
            out.append(value[i:])
            return "".join(out)
        out.append(value[i:j])
        if value.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        if value.startswith("${", j):
            close = value.find("}", j + 2)
            inner = value[j + 2 : close] if close > 0 else ""
            name, sep, default = inner.partition(":-")
            if valid_name(name):
                reads.note(name)
                got = scope.get(name) or ""
                out.append(default if sep and not got else got)
                i = close + 1
                continue
        out.append("$")
        i = j + 1
