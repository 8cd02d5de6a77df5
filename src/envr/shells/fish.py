"""fish: single quotes where only \\ and ' are special; PATH is a list; the hook is shell-integrations/envr.fish.

fish spends ~10 µs per builtin call, so each watched list is rendered as the arguments of one `test` call (data,
never parsed as code: every path is absolute, so none can be mistaken for an operator).
"""

from __future__ import annotations

from envr.shells.render import Renderer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from envr.shells.hookstate import Leave


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_args(watched: Sequence[tuple[str, str | None]]) -> list[str]:
    """Arguments for one `test` that is true while every (file, stamp) is unchanged (stamp None: absent)."""
    terms: list[list[str]] = []
    for file, stamp in watched:
        if stamp is None:
            terms.append(["!", "-e", file])
        elif stamp == "+":  # watched for its existence alone
            terms.append(["-e", file])
        else:
            terms.append(["-e", file, "-a", "-e", stamp, "-a", "!", file, "-nt", stamp, "-a", "!", file, "-ot", stamp])
    args: list[str] = []
    for term in terms:
        args += (["-a"] if args else []) + term
    return args or ["-n", "unchanged"]


def absent_args(files: Sequence[str]) -> list[str]:
    """Arguments for one `test` that is true while none of files is a regular file (the walk's own test)."""
    args: list[str] = []
    for file in files:
        args += (["-a"] if args else []) + ["!", "-f", file]
    return args or ["-n", "unchanged"]


class FishShell(Renderer):
    name = "fish"
    script = "envr.fish"
    prefix = "__envr"

    def quote(self, value: str) -> str:
        return quote(value)

    def export(self, name: str, value: str) -> str:
        if name == "PATH":
            # fish keeps PATH as a list and joins it with ':' for children; an empty PATH is an empty list.
            items = value.split(":") if value else []
            return "set -gx PATH " + " ".join(quote(v) for v in items)
        return f"set -gx {name} {quote(value)}"

    def unset(self, name: str) -> str:
        return f"set -e -g {name}"

    def assign(self, name: str, value: str) -> str:
        return f"set -g {name} {quote(value)}"

    def assign_list(self, name: str, values: Sequence[str]) -> str:
        return f"set -g {name} " + " ".join(quote(v) for v in values)

    def watched(self, name: str, files: Sequence[tuple[str, str | None]]) -> str:
        return self.assign_list(f"_envr_t{name}", test_args(files))

    def absent(self, files: Sequence[str]) -> str:
        return self.assign_list("_envr_tabs", absent_args(files))

    def leave_code(self, leave: Leave) -> str:
        lines = ["set -g __envr_k"]
        for layer in leave.layers:
            for name, set_to, before in layer.vars:
                still = f'set -q {name}; and test "${name}" = {quote(set_to)}' if set_to is not None else ""
                still = still or f"not set -q {name}"
                back = self.unset(name) if before is None else self.export(name, before)
                lines.append(f"if {still}; {back}; else; set -a __envr_k {name}; end")
            lines += self.unpath(layer)
        lines += ["set -e -g ENVR_STATE", self.call("left", [leave.where])]
        return "\n".join(lines)

    def test_code(self, checks: Sequence[tuple[str, str, str | None]]) -> str:
        terms = []
        for kind, what, value in checks:
            q = quote(value) if value is not None else ""
            if kind == "var":
                terms.append(f'set -q {what}; and test "${what}" = {q}' if q else f"not set -q {what}")
            elif kind == "file":
                f = quote(what)
                if value == "+":
                    terms.append(f"test -e {f}")
                else:
                    terms.append(f"test -e {f} -a ! {f} -nt {q} -a ! {f} -ot {q}" if q else f"not test -e {f}")
            elif kind == "defined":
                terms.append(f"set -q {what}" if q else f"not set -q {what}")
            elif kind == "first_path":
                terms.append(f'test "$PATH[1]" = {q}' if q else "not set -q ENVR_PROFILE")
        return "; and ".join(terms) if terms else "true"


SHELL = FishShell()
