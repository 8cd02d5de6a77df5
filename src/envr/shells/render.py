"""What every shell renders the same way: the environment change and the hook's state, in an order and shape
the hook scripts expect. A shell module supplies the primitives (quoting, export/unset, assignments, how a
watched list is written, how a variable is tested, how a helper is called) and the revert/test code."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from envr.shells.hookstate import Enter, HookState, Layer, Leave


class Renderer:
    """Base of the shell modules' SHELL objects. Subclasses define the primitives below."""

    name = ""
    script = ""
    prefix = ""

    # --- primitives --------------------------------------------------------------------------------------

    def quote(self, value: str) -> str:
        raise NotImplementedError

    def export(self, name: str, value: str) -> str:
        raise NotImplementedError

    def unset(self, name: str) -> str:
        raise NotImplementedError

    def assign(self, name: str, value: str) -> str:
        raise NotImplementedError

    def assign_list(self, name: str, values: Sequence[str]) -> str:
        raise NotImplementedError

    def watched(self, name: str, files: Sequence[tuple[str, str | None]]) -> str:
        """The hook variable holding (file, stamp or None: absent) pairs, in this shell's form."""
        raise NotImplementedError

    def absent(self, files: Sequence[str]) -> str:
        """The hook variable holding the envr.toml files that must not appear."""
        raise NotImplementedError

    def leave_code(self, leave: Leave) -> str:
        raise NotImplementedError

    def test_code(self, checks: Sequence[tuple[str, str, str | None]]) -> str:
        raise NotImplementedError

    def call(self, function: str, args: Sequence[str]) -> str:
        return " ".join([f"{self.prefix}_{function}", *(self.quote(a) for a in args)])

    # --- shared ------------------------------------------------------------------------------------------

    def render(self, delta: Mapping[str, str | None]) -> str:
        """Shell code that applies delta (NAME -> value, None to unset)."""
        return "".join((self.unset(n) if v is None else self.export(n, v)) + "\n" for n, v in delta.items())

    def state(self, hs: HookState, partial: bool = False) -> str:
        """The hook's variables; partial: only what a cached enter changes."""
        lines = [
            self.assign("_envr_seen", hs.seen),
            self.assign("_envr_said", hs.said),
            self.assign("_envr_root", hs.root or ""),
            self.watched("proj", hs.wproj),
            self.assign("_envr_leave", self.leave_code(hs.leave) if hs.leave else ""),
        ]
        if not partial:
            lines += [
                self.assign("_envr_pwd", hs.pwd),
                self.assign("_envr_racy", "1" if hs.racy else "0"),
                self.absent(hs.absent),
                self.watched("base", hs.wbase),
            ]
            if hs.enter is not None:
                lines.append(
                    self.call("cache_put", [hs.enter.root, self.test_code(hs.enter.checks), self.enter_code(hs.enter)])
                )
        return "".join(line + "\n" for line in lines)

    def path_call(self, function: str, head: Sequence[str], prepend: Sequence[str], append: Sequence[str]) -> str:
        """`PREFIX_function HEAD... PRE... -- APP...`, the PATH helpers' calling convention."""
        return self.call(function, [*head, *prepend, "--", *append])  # entries are absolute: never "--"

    def enter_code(self, enter: Enter) -> str:
        lines = [self.unset(n) if v is None else self.export(n, v) for n, v in enter.sets if n != "ENVR_STATE"]
        if enter.prepend or enter.append:
            lines.append(self.path_call("addpath", [], enter.prepend, enter.append))
        lines += [self.export(n, v) for n, v in enter.sets if n == "ENVR_STATE" and v is not None]
        lines.append(self.state(enter.after, partial=True).rstrip("\n"))
        lines.append(self.call("note", [enter.message]))
        return "\n".join(lines)

    def unpath(self, layer: Layer) -> list[str]:
        if not (layer.prepend or layer.append):
            return []
        return [self.path_call("unpath", [str(int(layer.path_was_unset))], layer.prepend, layer.append)]
