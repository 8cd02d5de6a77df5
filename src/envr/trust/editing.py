"""`envr edit`: open envr.toml in the user's editor, then settle its trust the way `direnv edit` does.

The user made the change, so a file that was allowed before the edit is allowed again once it still validates;
a file that was not allowed stays not allowed (editing is not approving someone else's content). A file that no
longer validates is left blocked, with its file:line:column error. Unchanged content changes nothing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping

from envr.errors import EnvrError, ProjectFileError
from envr.fsutil import read_regular
from envr.project.listing import read_lock
from envr.project.load import parse
from envr.trust import approvals
from envr.trust.allow import allow

UNCHANGED = "unchanged"
ALLOWED = "allowed"  # changed, valid, and allowed again (it was allowed before)
NOT_ALLOWED = "not allowed"  # changed and valid, but it was not allowed before, so it still is not
INVALID = "invalid"  # changed and no longer valid: blocked until fixed and allowed


def editor_argv(environ: Mapping[str, str]) -> list[str]:
    """$VISUAL, else $EDITOR, else vi; a value may carry arguments (`code --wait`)."""
    for var in ("VISUAL", "EDITOR"):
        value = environ.get(var, "").strip()
        if value:
            try:
                argv = shlex.split(value)
            except ValueError as e:
                raise EnvrError(f"${var} cannot be parsed ({e}): {value!r}") from None
            if argv:
                return argv
    return ["vi"]


class Edited:
    """What an edit came to: one of the outcomes above; for INVALID the error (file:line:col: ...); for a
    valid edit, a note when envr.lock no longer fits (the next prompt would refuse it until `envr lock`)."""

    __slots__ = ("error", "note", "outcome")

    def __init__(self, outcome: str, error: ProjectFileError | None = None, note: str | None = None) -> None:
        self.outcome = outcome
        self.error = error
        self.note = note


def _read(project_file: str) -> bytes:
    try:
        return read_regular(project_file)
    except OSError as e:
        raise EnvrError(f"{project_file}: cannot read: {e.strerror or e}") from None


def edit(project_file: str, environ: Mapping[str, str]) -> Edited:
    """Run the editor on project_file (it inherits the terminal), then settle trust as described above."""
    was_allowed = approvals.check(project_file, approvals.content_hash(project_file)).allowed
    before = _read(project_file)
    argv = [*editor_argv(environ), project_file]
    try:
        status = subprocess.run(argv, env=dict(environ), check=False).returncode
    except OSError as e:
        raise EnvrError(f"cannot run the editor {argv[0]!r}: {e.strerror}; set $VISUAL or $EDITOR") from None
    after = _read(project_file) if os.path.exists(project_file) else None
    if after is None:
        raise EnvrError(f"{project_file} is gone after the edit; nothing allowed")
    if status != 0:
        what = "nothing changed" if after == before else "the edited file is not allowed (check it, then envr allow)"
        raise EnvrError(f"the editor exited with status {status}; {what}")
    if after == before:
        return Edited(UNCHANGED)
    try:
        project = parse(project_file, after)
    except ProjectFileError as e:
        return Edited(INVALID, e)
    _, note = read_lock(project)
    if not was_allowed:
        return Edited(NOT_ALLOWED, note=note)
    allow(project_file)  # validates and approves what is on disk now
    return Edited(ALLOWED, note=note)
