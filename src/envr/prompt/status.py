"""`envr status`: what is active here, whether it is trusted, and what it sets. Computed, never committed:
it writes nothing and builds nothing, whatever state the project is in."""

from __future__ import annotations

import os

from envr.project.file import FILENAME
from envr.prompt.core import compute
from envr.prompt.state import STATE_VAR, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


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
    p = outcome.project
    if p is not None and outcome.error is None:
        for name, value in p.env.items():
            shown = "unset" if value is None else repr(outcome.target.get(name, ""))
            lines.append(f"  {name}: {shown}   (env.{name} in {FILENAME})")
        for key, items in (("prepend", p.prepend), ("append", p.append)):
            lines += [f"  PATH {key}: {item}" for item in items]
        lines += _generation(outcome)
    if outcome.delta:
        pending = ", ".join(sorted(k for k in outcome.delta if k != STATE_VAR)) or "state only"
        lines.append(f"pending at next prompt: {pending}")
    return lines


def _generation(outcome: object) -> list[str]:
    from envr.history import generations
    from envr.prompt.core import Outcome

    assert isinstance(outcome, Outcome) and outcome.project is not None and outcome.digest is not None
    latest, pin = generations.active(outcome.project.file, outcome.digest)
    if pin is not None:
        return [f"generation: pinned older generation {pin} (latest {latest}); envr sync returns to the latest"]
    return [f"generation: {latest} (latest)"] if latest else []
