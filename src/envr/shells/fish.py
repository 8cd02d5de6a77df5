"""fish: single quotes where only \\ and ' are special; PATH is a list; the hook is shell-integrations/envr.fish.

fish spends ~10 µs per builtin call, so each watched list is rendered as the arguments of one `test` call (data,
never parsed as code: every path is absolute, so none can be mistaken for an operator).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from envr.shells.hookstate import Enter, HookState, Leave


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_args(watched: Sequence[tuple[str, str | None]]) -> list[str]:
    """Arguments for one `test` that is true while every (file, stamp) is unchanged (stamp None: absent)."""
    terms: list[list[str]] = []
    for file, stamp in watched:
        if stamp is None:
            terms.append(["!", "-e", file])
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


class FishShell:
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

    def render(self, delta: Mapping[str, str | None]) -> str:
        return "".join((self.unset(n) if v is None else self.export(n, v)) + "\n" for n, v in delta.items())

    def state(self, hs: HookState, partial: bool = False) -> str:
        lines = [
            self.assign("_envr_seen", hs.seen),
            self.assign("_envr_said", hs.said),
            self.assign("_envr_root", hs.root or ""),
            self.assign_list("_envr_tproj", test_args(hs.wproj)),
            self.assign("_envr_leave", self.leave_code(hs.leave) if hs.leave else ""),
        ]
        if not partial:
            lines += [
                self.assign("_envr_pwd", hs.pwd),
                self.assign("_envr_racy", "1" if hs.racy else "0"),
                self.assign_list("_envr_tabs", absent_args(hs.absent)),
                self.assign_list("_envr_tbase", test_args(hs.wbase)),
            ]
            if hs.enter is not None:
                enter = hs.enter
                code = [self.test_code(enter.checks), self.enter_code(enter)]
                lines.append("__envr_cache_put " + " ".join(quote(x) for x in (enter.root, *code)))
        return "".join(line + "\n" for line in lines)

    def leave_code(self, leave: Leave) -> str:
        lines = ["set -g __envr_k"]
        for name, set_to, before in leave.vars:
            still = f"not set -q {name}" if set_to is None else f'set -q {name}; and test "${name}" = {quote(set_to)}'
            back = self.unset(name) if before is None else self.export(name, before)
            lines.append(f"if {still}; {back}; else; set -a __envr_k {name}; end")
        if leave.prepend or leave.append:
            entries = " ".join(quote(e) for e in leave.prepend) + " -- " + " ".join(quote(e) for e in leave.append)
            lines.append(f"__envr_unpath {int(leave.path_was_unset)} {entries}".rstrip())
        lines.append("set -e -g ENVR_STATE")
        lines.append(f"__envr_left {quote(leave.where)}")
        return "\n".join(lines)

    def test_code(self, checks: Sequence[tuple[str, str, str | None]]) -> str:
        terms = []
        for kind, what, value in checks:
            if kind == "var":
                terms.append(
                    f"not set -q {what}" if value is None else f'set -q {what}; and test "${what}" = {quote(value)}'
                )
            elif kind == "file":
                f = quote(what)
                if value is None:
                    terms.append(f"not test -e {f}")
                else:
                    s = quote(value)
                    terms.append(f"test -e {f} -a ! {f} -nt {s} -a ! {f} -ot {s}")
            elif kind == "defined":
                terms.append(f"not set -q {what}" if value is None else f"set -q {what}")
            elif kind == "first_path":
                terms.append("not set -q ENVR_PROFILE" if value is None else f'test "$PATH[1]" = {quote(value)}')
        return "; and ".join(terms) if terms else "true"

    def enter_code(self, enter: Enter) -> str:
        lines = [self.unset(n) if v is None else self.export(n, v) for n, v in enter.sets if n != "ENVR_STATE"]
        if enter.prepend or enter.append:
            entries = " ".join(quote(e) for e in enter.prepend) + " -- " + " ".join(quote(e) for e in enter.append)
            lines.append(f"__envr_addpath {entries}".rstrip())
        lines += [self.export(n, v) for n, v in enter.sets if n == "ENVR_STATE" and v is not None]
        lines.append(self.state(enter.after, partial=True).rstrip("\n"))
        lines.append(f"__envr_note {quote(enter.message)}")
        return "\n".join(lines)


SHELL = FishShell()
