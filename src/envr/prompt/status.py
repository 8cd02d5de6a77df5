"""`envr status`: what is active here, whether it is trusted, and what it sets. Computed, never committed:
it writes nothing and builds nothing, whatever state the project is in."""

from __future__ import annotations

import os

from envr.project.file import FILENAME
from envr.prompt.core import Outcome, compute
from envr.prompt.state import STATE_VAR, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from envr.prompt.layers import Layer


def report(environ: Mapping[str, str], pwd: str) -> list[str]:
    lines = []
    loaded = State.decode(environ.get(STATE_VAR))
    lines.append("loaded: nothing" if loaded is None else f"loaded: {loaded.root} ({loaded.file})")
    outcome = compute(environ, pwd)
    if outcome.root is None:
        lines.append(f"project: none ({FILENAME} not found at or above {pwd})")
        return lines
    lines.append(f"project: {outcome.root}")
    verdict = outcome.verdict
    lines.append(f"trust: {verdict.state if verdict else 'unknown'}")
    if outcome.error is not None:
        lines.append(f"error: {outcome.error}")
    elif verdict is not None and not verdict.allowed:
        lines.append(f"blocked: {outcome.problem}")
        if verdict.state == "changed since allowed":
            from envr.trust.changes import changes_since_approved

            changed = changes_since_approved(os.path.join(outcome.root, FILENAME))
            if changed:
                lines.append(f"changed since allowed: {changed}")
    elif outcome.problem is not None:
        lines.append(f"problem: {outcome.problem}")
    if outcome.error is None and outcome.new is not None:
        lines += _variables(outcome)
        if outcome.project is not None:
            lines += _generation(outcome)
    if outcome.delta:
        pending = ", ".join(sorted(k for k in outcome.delta if k != STATE_VAR)) or "state only"
        lines.append(f"pending at next prompt: {pending}")
    return lines


def _variables(outcome: Outcome) -> list[str]:
    """Each variable with the file it comes from (the nearest file that sets it wins), and the PATH entries."""
    origin: dict[str, str] = {}
    for layer in outcome.layers:
        p = layer.project
        if p is None or not layer.allowed:
            continue
        for name in layer.dotenv:
            origin[name] = f"from {_dotenv_file(layer, name)}"
        for name in p.env:
            origin[name] = f"env.{name} in {p.file}"
        for name in layer.secrets:
            origin[name] = f"a command in {p.file}"
    lines = []
    secret = {name for layer in outcome.layers for name in layer.secrets}
    for name, where in origin.items():
        shown = repr(outcome.target[name]) if name in outcome.target else "unset"
        if name in secret and name in outcome.target:
            shown = f"<{len(outcome.target[name])} characters, not shown>"
        lines.append(f"  {name}: {shown}   ({where})")
    for layer in outcome.layers:
        if layer.project is not None and layer.allowed:
            for key, items in (("prepend", layer.project.prepend), ("append", layer.project.append)):
                lines += [f"  PATH {key}: {item}   ({layer.project.file})" for item in items]
    return lines


def _dotenv_file(layer: Layer, name: str) -> str:
    found = ""
    for path, data, _ in layer.dotenv_files:
        if name.encode() + b"=" in data:
            found = path
    return found or "a dotenv file"


def _generation(outcome: Outcome) -> list[str]:
    from envr.history import generations

    assert outcome.project is not None and outcome.digest is not None
    latest, pin = generations.active(outcome.project.file, outcome.digest)
    if pin is not None:
        return [f"generation: pinned older generation {pin} (latest {latest}); envr sync returns to the latest"]
    return [f"generation: {latest} (latest)"] if latest else []
