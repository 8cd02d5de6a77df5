"""The environment a project wants, given the environment before it was activated.

Activation is a pure function of (project, environment before), so a reload is simply revert-then-activate
and any number of reloads leave each PATH entry in place exactly once.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.project.file import Project
from envr.project.templates import interpolate, names_read

TYPE_CHECKING = False  # collections.abc and typing cost the prompt ~1-2 ms; annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


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
        names.update(names_read(template))
    names.discard("ENVR_ROOT")
    return names
