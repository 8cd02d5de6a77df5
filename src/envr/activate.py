"""The environment a project wants, given the environment before it was activated.

Activation is a pure function of (project, environment before), so a reload is simply revert-then-activate
and any number of reloads leave each PATH entry in place exactly once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from envr.errors import EnvrError
from envr.project import Project

_TOKEN = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate(template: str, env: Mapping[str, str]) -> str:
    """${NAME} is NAME's value before activation (empty if unset); $$ is a literal $; any other $ stays."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return "$" if name is None else env.get(name, "")

    return _TOKEN.sub(sub, template)


@dataclass
class Activation:
    """What a project adds on top of a base environment."""

    root: str
    vars: dict[str, str | None] = field(default_factory=dict)
    prepend: list[str] = field(default_factory=list)
    append: list[str] = field(default_factory=list)


def path_entries(project: Project, templates: Sequence[str], env: Mapping[str, str], key: str) -> list[str]:
    entries = []
    for template in templates:
        entry = interpolate(template, env)
        entry = os.path.normpath(os.path.join(project.root, os.path.expanduser(entry)))
        if ":" in entry:
            raise EnvrError(f"{project.file}: path.{key} entry {entry!r} contains ':' and cannot go on PATH")
        entries.append(entry)
    return entries


def activation(project: Project, base: Mapping[str, str], package_bins: Sequence[str] = ()) -> Activation:
    """The variables and PATH entries project sets on top of base."""
    scope = dict(base)
    scope["ENVR_ROOT"] = project.root
    act = Activation(project.root)
    act.vars["ENVR_ROOT"] = project.root
    for name, template in project.env.items():
        act.vars[name] = None if template is None else interpolate(template, scope)
    act.prepend = path_entries(project, project.prepend, scope, "prepend") + list(package_bins)
    act.append = path_entries(project, project.append, scope, "append")
    return act
