"""Packages as typed on the command line: `envr add`, `envr shell -p` and `envr profile install` share this.

    KIND:REST          pypi:ruff==0.6.9, npm:@scope/tool@1.2.0, path:./tools
    NAME=KIND:REST     the same, under another [packages] name

What REST means is the source's business (Source.parse_cli), so the three commands accept exactly the same
specs and name them the same way (pypi:Cow_Say -> cow-say).
"""

from __future__ import annotations

from envr.errors import EnvrError
from envr.project.packages import valid_package_name
from envr.store.sources import KINDS, CliSpec, source_for


def parse(text: str, cwd: str) -> CliSpec:
    given, kind, sep, rest = "", *text.partition(":")
    if "=" in kind:
        given, _, kind = kind.partition("=")
    rest = rest.strip()
    if not sep or not rest:
        raise EnvrError(f"{text!r}: give a package as KIND:SPEC ({forms()}), NAME= first to rename it")
    if kind not in KINDS:
        raise EnvrError(f"{text!r}: unknown kind {kind!r}; give one of {forms()}")
    spec = source_for(kind).parse_cli(text, rest, cwd)
    if given:
        spec.name = given
    if not valid_package_name(spec.name):
        raise EnvrError(f"{text!r}: cannot name a package {spec.name!r}")
    return spec


def parse_all(texts: list[str], cwd: str) -> list[CliSpec]:
    """Every spec, refusing two that get the same name."""
    out: dict[str, CliSpec] = {}
    for text in texts:
        spec = parse(text, cwd)
        if spec.name in out:
            raise EnvrError(f"two packages named {spec.name!r}: {out[spec.name].text!r} and {text!r}")
        out[spec.name] = spec
    return list(out.values())


def forms() -> str:
    """What the command line accepts, from the sources themselves: 'pypi:REQUIREMENT, npm:... or path:DIR'."""
    written = [form for kind in KINDS if (form := source_for(kind).cli_form)]
    return ", ".join(written[:-1]) + " or " + written[-1] if len(written) > 1 else "".join(written)
