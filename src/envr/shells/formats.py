"""Non-shell export formats: json (for tools) and dotenv (for docker, compose and friends)."""

from __future__ import annotations

import json
from collections.abc import Mapping


def render_json(delta: Mapping[str, str | None]) -> str:
    return json.dumps(dict(delta), ensure_ascii=False, indent=None) + "\n"


def render_dotenv(delta: Mapping[str, str | None]) -> str:
    """NAME="value" with backslash escapes; dotenv cannot unset, so unsets become comments."""
    lines = []
    for name, value in delta.items():
        if value is None:
            lines.append(f"# unset {name}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("$", "\\$")
            lines.append(f'{name}="{escaped}"')
    return "".join(line + "\n" for line in lines)
