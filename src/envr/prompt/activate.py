"""The environment a project wants, given the environment before it was activated.

Activation is a pure function of (project, environment before), so a reload is simply revert-then-activate
and any number of reloads leave each PATH entry in place exactly once.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.project.file import Project

TYPE_CHECKING = False  # collections.abc and typing cost the prompt ~1-2 ms; annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_NAME_CHARS = _NAME_START + "0123456789"


def interpolate(template: str, env: Mapping[str, str]) -> str:
    """${NAME} is NAME's value before activation (empty if unset); $$ is a literal $; any other $ stays.

    A hand-written scan, not a regex: the prompt's lean path keeps `re` unloaded when it can.
    """
    out = []
    i = 0
    n = len(template)
    while i < n:
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            break
        out.append(template[i:j])
        if template.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        if template.startswith("${", j):
            close = template.find("}", j + 2)
            name = template[j + 2 : close] if close > 0 else ""
            if name and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name):
                out.append(env.get(name, ""))
                i = close + 1
                continue
        out.append("$")
        i = j + 1
    return "".join(out)


class Activation:
    """What a project adds on top of a base environment."""

    __slots__ = ("append", "prepend", "root", "vars")

    def __init__(
        self,
        root: str,
        vars: dict[str, str | None] | None = None,
        prepend: list[str] | None = None,
        append: list[str] | None = None,
    ) -> None:
        self.root = root
        self.vars: dict[str, str | None] = vars if vars is not None else {}
        self.prepend: list[str] = prepend if prepend is not None else []
        self.append: list[str] = append if append is not None else []


def path_entries(project: Project, templates: Sequence[str], env: Mapping[str, str], key: str) -> list[str]:
    entries = []
    for template in templates:
        entry = interpolate(template, env)
        entry = os.path.normpath(os.path.join(project.root, os.path.expanduser(entry)))
        if ":" in entry:
            raise EnvrError(f"{project.file}: path.{key} entry {entry!r} contains ':' and cannot go on PATH")
        entries.append(entry)
    return entries


def activation(
    project: Project,
    base: Mapping[str, str],
    package_bins: Sequence[str] = (),
    dotenv: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Activation:
    """The variables and PATH entries project sets on top of base: its dotenv files' values, then [env] (whose
    templates see those values), then the values its secrets' commands printed."""
    scope = dict(base)
    scope.update(dotenv or {})
    scope["ENVR_ROOT"] = project.root
    act = Activation(project.root)
    act.vars["ENVR_ROOT"] = project.root
    act.vars.update(dotenv or {})
    for name, template in project.env.items():
        act.vars[name] = None if template is None else interpolate(template, scope)
    act.vars.update(secrets or {})
    act.prepend = path_entries(project, project.prepend, scope, "prepend") + list(package_bins)
    act.append = path_entries(project, project.append, scope, "append")
    return act


def referenced(project: Project) -> set[str]:
    """The names the project's templates read from the environment (`${NAME}`), ENVR_ROOT aside: what else
    an activation depends on, besides the files, for the hook to know when a cached one still holds."""
    names: set[str] = set()
    templates = [t for t in project.env.values() if t is not None] + list(project.prepend) + list(project.append)
    for template in templates:
        i = template.find("${")
        while i >= 0:
            close = template.find("}", i + 2)
            name = template[i + 2 : close] if close > 0 else ""
            if name and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name) and not _escaped(template, i):
                names.add(name)
            i = template.find("${", i + 2)
    names.discard("ENVR_ROOT")
    return names


def _escaped(template: str, i: int) -> bool:
    """Whether the $ at i is the second of a `$$` (a literal $), counting from the start as interpolate does."""
    j = 0
    while j < i:
        j = template.find("$", j)
        if j < 0 or j >= i:
            return False
        if template.startswith("$$", j):
            if j + 1 == i:
                return True
            j += 2
        else:
            j += 1
    return False
