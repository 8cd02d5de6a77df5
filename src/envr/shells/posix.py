"""bash and zsh: POSIX single quotes carry every byte literally, except ' itself; the same generated code
runs in both (the helpers it calls are defined by each shell's hook script)."""

from __future__ import annotations

from envr.shells.render import Renderer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from envr.shells.hookstate import Leave


def quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


class PosixShell(Renderer):
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

    def watched(self, name: str, files: Sequence[tuple[str, str | None]]) -> str:
        return self.assign_list(f"_envr_w{name}", [x for file, stamp in files for x in (file, stamp or "")])

    def absent(self, files: Sequence[str]) -> str:
        return self.assign_list("_envr_absent", files)

    def leave_code(self, leave: Leave) -> str:
        """revert() as shell code: restore what envr set unless the user changed it (then keep and say it)."""
        lines = ["_envr_k=()"]
        for layer in leave.layers:
            for name, set_to, before in layer.vars:
                still = f"[[ -n ${{{name}+x}} && ${name} == {quote(set_to)} ]]" if set_to is not None else ""
                still = still or f"[[ -z ${{{name}+x}} ]]"
                back = self.unset(name) if before is None else self.export(name, before)
                lines.append(f"if {still}; then {back}; else _envr_k+=({name}); fi")
            lines += self.unpath(layer)
        lines += ["unset ENVR_STATE", self.call("left", [leave.where])]
        return "\n".join(lines)

    def test_code(self, checks: Sequence[tuple[str, str, str | None]]) -> str:
        terms = []
        for kind, what, value in checks:
            q = quote(value) if value is not None else ""
            if kind == "var":
                terms.append(f"-n ${{{what}+x}} && ${what} == {q}" if q else f"-z ${{{what}+x}}")
            elif kind == "file":
                f = quote(what)
                if value == "+":  # watched for its existence alone
                    terms.append(f"-e {f}")
                else:
                    terms.append(f"-e {f} && ! {f} -nt {q} && ! {f} -ot {q}" if q else f"! -e {f}")
            elif kind == "defined":
                terms.append(f"-n ${{{what}+x}}" if q else f"-z ${{{what}+x}}")
            elif kind == "first_path":
                terms.append(f"${{PATH%%:*}} == {q}" if q else "-z ${ENVR_PROFILE+x}")
        return "[[ " + " && ".join(terms) + " ]]" if terms else "true"
