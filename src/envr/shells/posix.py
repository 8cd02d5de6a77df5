"""bash and zsh: POSIX single quotes carry every byte literally, except ' itself; the same generated code
runs in both (the helpers it calls are defined by each shell's hook script)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from envr.shells.hookstate import Enter, HookState, Leave


def quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


class PosixShell:
    prefix = "_envr"

    def __init__(self, name: str) -> None:
        self.name = name
        self.script = f"envr.{name}"

    def quote(self, value: str) -> str:
        return quote(value)

    def export(self, name: str, value: str) -> str:
        return f"export {name}={quote(value)}"

    def unset(self, name: str) -> str:
        return f"unset {name}"

    def assign(self, name: str, value: str) -> str:
        return f"{name}={quote(value)}"

    def assign_list(self, name: str, values: Sequence[str]) -> str:
        return f"{name}=(" + " ".join(quote(v) for v in values) + ")"

    def render(self, delta: Mapping[str, str | None]) -> str:
        """Shell code that applies delta (NAME -> value, None to unset)."""
        return "".join((self.unset(n) if v is None else self.export(n, v)) + "\n" for n, v in delta.items())

    def state(self, hs: HookState, partial: bool = False) -> str:
        """The hook's variables; partial: only what a cached enter changes."""
        lines = [
            self.assign("_envr_seen", hs.seen),
            self.assign("_envr_said", hs.said),
            self.assign("_envr_root", hs.root or ""),
            self.assign_list("_envr_wproj", _pairs(hs.wproj)),
            self.assign("_envr_leave", self.leave_code(hs.leave) if hs.leave else ""),
        ]
        if not partial:
            lines += [
                self.assign("_envr_pwd", hs.pwd),
                self.assign("_envr_racy", "1" if hs.racy else "0"),
                self.assign_list("_envr_absent", hs.absent),
                self.assign_list("_envr_wbase", _pairs(hs.wbase)),
            ]
            if hs.enter is not None:
                enter = hs.enter
                code = [self.test_code(enter.checks), self.enter_code(enter)]
                lines.append("_envr_cache_put " + " ".join(quote(x) for x in (enter.root, *code)))
        return "".join(line + "\n" for line in lines)

    def leave_code(self, leave: Leave) -> str:
        """revert() as shell code: restore what envr set unless the user changed it (then keep and say it)."""
        lines = ["_envr_k=()"]
        for name, set_to, before in leave.vars:
            still = (
                f"[[ -z ${{{name}+x}} ]]" if set_to is None else f"[[ -n ${{{name}+x}} && ${name} == {quote(set_to)} ]]"
            )
            back = self.unset(name) if before is None else self.export(name, before)
            lines.append(f"if {still}; then {back}; else _envr_k+=({name}); fi")
        if leave.prepend or leave.append:
            entries = " ".join(quote(e) for e in leave.prepend) + " -- " + " ".join(quote(e) for e in leave.append)
            lines.append(f"_envr_unpath {int(leave.path_was_unset)} {entries}".rstrip())
        lines.append("unset ENVR_STATE")
        lines.append(f"_envr_left {quote(leave.where)}")
        return "\n".join(lines)

    def test_code(self, checks: Sequence[tuple[str, str, str | None]]) -> str:
        terms = []
        for kind, what, value in checks:
            if kind == "var":
                terms.append(f"-z ${{{what}+x}}" if value is None else f"-n ${{{what}+x}} && ${what} == {quote(value)}")
            elif kind == "file":
                f = quote(what)
                terms.append(
                    f"! -e {f}" if value is None else f"-e {f} && ! {f} -nt {quote(value)} && ! {f} -ot {quote(value)}"
                )
            elif kind == "defined":
                terms.append(f"-z ${{{what}+x}}" if value is None else f"-n ${{{what}+x}}")
            elif kind == "first_path":
                terms.append("-z ${ENVR_PROFILE+x}" if value is None else f"${{PATH%%:*}} == {quote(value)}")
        return "[[ " + " && ".join(terms) + " ]]" if terms else "true"

    def enter_code(self, enter: Enter) -> str:
        lines = [self.unset(n) if v is None else self.export(n, v) for n, v in enter.sets if n != "ENVR_STATE"]
        if enter.prepend or enter.append:
            entries = " ".join(quote(e) for e in enter.prepend) + " -- " + " ".join(quote(e) for e in enter.append)
            lines.append(f"_envr_addpath {entries}".rstrip())
        lines += [self.export(n, v) for n, v in enter.sets if n == "ENVR_STATE" and v is not None]
        lines.append(self.state(enter.after, partial=True).rstrip("\n"))
        lines.append(f"_envr_note {quote(enter.message)}")
        return "\n".join(lines)


def _pairs(watched: Sequence[tuple[str, str | None]]) -> list[str]:
    return [x for file, stamp in watched for x in (file, stamp or "")]
