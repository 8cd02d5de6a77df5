"""What the core hands the hook besides the environment change, as data each shell module renders.

The hook keeps it in unexported shell variables, so a subshell (which inherits the environment but not these)
falls back to the core. With it the hook decides alone, with builtins only:

- nothing moved (the steady state): same $PWD, same ENVR_STATE, every watched file as it was;
- `cd` within the project: the walk up from the new $PWD finds the same nearest envr.toml;
- leaving for a directory in no project: `leave` is the revert, as code written at load time, which keeps a
  variable the user changed inside (and says so) and PATH entries the user added, exactly as the core would;
- re-entering a project this shell loaded before: a cached `Enter` whose checks (the files' stamps, the values
  of the variables the activation read or sets) still hold is applied as the core would apply it.
Anything else runs the core.
"""

from __future__ import annotations


class Layer:
    """One project file's part of a load: per variable (name, value envr set or None if it unset it, value before
    or None if it was unset), and the PATH entries envr added."""

    __slots__ = ("append", "path_was_unset", "prepend", "vars")

    def __init__(
        self,
        vars: list[tuple[str, str | None, str | None]],
        prepend: list[str],
        append: list[str],
        path_was_unset: bool,
    ) -> None:
        self.vars = vars
        self.prepend = prepend
        self.append = append
        self.path_was_unset = path_was_unset


class Leave:
    """How to take a loaded project back: its layers, the nearest project's first (reverted first)."""

    __slots__ = ("layers", "where")

    def __init__(self, layers: list[Layer], where: str) -> None:
        self.layers = layers
        self.where = where  # the nearest project's directory as messages show it (~/proj)


class HookState:
    """The hook's variables after this core run (or after a cached enter)."""

    __slots__ = ("absent", "enter", "leave", "pwd", "racy", "root", "said", "seen", "wbase", "wproj")

    def __init__(self) -> None:
        self.pwd = ""
        self.racy = False  # run the core again at the next prompt
        self.seen = ""  # ENVR_STATE as this run left it
        self.said = ""  # the status line shown last (not repeated by a re-check)
        self.root: str | None = None  # the nearest project's directory (loaded, blocked or broken)
        self.absent: list[str] = []  # envr.toml files between $PWD and root (or /) that must not appear
        self.wbase: list[tuple[str, str | None]] = []  # (file, stamp, or None: must stay absent), any project
        self.wproj: list[tuple[str, str | None]] = []  # the same, for the loaded project only
        self.leave: Leave | None = None
        self.enter: Enter | None = None  # this load, for the hook to cache against re-entry


class Enter:
    """A project load the hook can repeat: the checks under which it is exactly what the core would do, and
    what it does (set and unset variables, add PATH entries around the current PATH, then the hook's state)."""

    __slots__ = ("after", "append", "checks", "message", "prepend", "root", "sets")

    def __init__(self, root: str) -> None:
        self.root = root
        # ("var", NAME, value or None: unset), ("file", path, stamp or None: absent), ("first_path", entry or None)
        self.checks: list[tuple[str, str, str | None]] = []
        self.sets: list[tuple[str, str | None]] = []  # in order; ENVR_STATE last
        self.prepend: list[str] = []
        self.append: list[str] = []
        self.after = HookState()
        self.message = ""  # the loaded line, unless ENVR_QUIET
