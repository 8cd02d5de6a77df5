"""What execve can carry (security finding D12): a value or a whole environment change too large for the kernel
would make every command started afterwards fail with E2BIG, including envr's own core, so leaving could not
revert. project.file refuses such a file at allow; the prompt's core checks the real values at activation.
"""

from __future__ import annotations

import os

from envr.project.templates import literal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# A project's change must fit what execve can carry (D12). Linux caps every single argv or environment string
# at MAX_ARG_STRLEN, its NUL included; the whole of argv and the environment shares ARG_MAX. A project over
# either would make every program started inside fail with E2BIG, the prompt's own core included, so leaving
# could not revert it. The per-string limit holds on every platform: a file in git must work for every teammate.
MAX_ARG_STRLEN = 128 * 1024
ENV_SHARE = 4  # a project may grow the environment by at most ARG_MAX / ENV_SHARE, leaving the rest to the user
POINTER = 8  # each environment string also costs execve a pointer


def env_bytes(name: str, value: str) -> int:
    """What NAME=value costs as one environment string: its bytes and the terminating NUL."""
    return len(name.encode("utf-8", "surrogateescape")) + len(value.encode("utf-8", "surrogateescape")) + 2


def path_growth(entries: tuple[str, ...], root: str) -> int:
    """How many bytes these [path] entries (templates) add to PATH at least: each entry and its ':'."""
    total = 0
    for entry in entries:
        text = literal(entry)
        total += len(text.encode("utf-8", "surrogateescape")) + 1
        if not text.startswith(("/", "~")):
            total += len(root.encode("utf-8", "surrogateescape")) + 1
    return total


def arg_max() -> int:
    """This system's ARG_MAX: the room execve has for argv and the environment together."""
    try:
        n = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        n = -1
    return n if n > 0 else 2 * 1024 * 1024


def _over_strlen() -> str:
    return f"over the 128 KiB ({MAX_ARG_STRLEN:,} bytes) one environment variable may hold (Linux MAX_ARG_STRLEN)"


def _over_share(total: int) -> str:
    limit = arg_max()
    return (
        f"{total:,} bytes, over {limit // ENV_SHARE:,} bytes (a quarter of this system's ARG_MAX of {limit:,}), "
        "so programs started inside could fail to start"
    )


def execve_problem(before: Mapping[str, str], after: Mapping[str, str]) -> str | None:
    """Why execve could not carry the environment after (what the prompt's core is about to export, every
    ${NAME} interpolated, ENVR_STATE included), compared with before (the environment it starts from); None
    when it can. One line naming the variable and the limit, or the total and the limit. Pure: no I/O."""
    growth = 0
    total = 0
    for name, value in after.items():
        size = env_bytes(name, value) + POINTER
        total += size
        old = before.get(name)
        if old == value:
            continue
        if size - POINTER > MAX_ARG_STRLEN:
            return f"{name} would be {size - POINTER:,} bytes as {name}=value, {_over_strlen()}"
        growth += size if old is None else size - env_bytes(name, old) - POINTER
    for name, value in before.items():
        if name not in after:
            growth -= env_bytes(name, value) + POINTER
    limit = arg_max()
    if growth > limit // ENV_SHARE:
        return f"the project would grow the environment by {_over_share(growth)}"
    if growth > 0 and total > limit - MAX_ARG_STRLEN:
        return f"the environment would be {total:,} bytes, leaving no room in ARG_MAX ({limit:,}) for arguments"
    return None
