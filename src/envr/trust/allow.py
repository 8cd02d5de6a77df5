"""`envr allow`: approve exactly the content that was validated, and remember what it pins.

The file is read once; those bytes are hashed, validated and approved, so what was checked is what is trusted
(a file swapped between the check and the approval cannot slip in). Validation goes through the prompt's parse
cache, so the first prompt after `envr allow` skips tomllib; a file that would not load raises before anything
is approved.
"""

from __future__ import annotations

from envr.project import attempts
from envr.project.file import Project
from envr.project.load import cached
from envr.trust import approvals
from envr.trust.changes import record_approved


def allow(project_file: str) -> str:
    """Approve project_file's current content (and its lock's); returns the approved hash."""
    from envr.project.file import read_project_file

    content = read_project_file(project_file)
    digest = approvals.content_hash(project_file, content)
    cached(project_file, content, digest)
    approvals.approve(project_file, digest)
    record_approved(project_file)
    attempts.forget(project_file)  # the user looked again: a prompt may retry what failed to realise
    return digest


def approved(project_file: str) -> tuple[Project, bytes | None]:
    """The project as approved, and its lock's bytes: each file read once, the bytes hashed for the approval
    check being the bytes parsed and used (a file swapped meanwhile cannot slip in). NotTrustedError if the
    content is not approved."""
    from envr.errors import NotTrustedError
    from envr.project.file import read_project_file

    content = read_project_file(project_file)
    lock = approvals.read_lock(project_file)
    verdict = approvals.check(project_file, approvals.digest(content, lock))
    if not verdict.allowed:
        raise NotTrustedError(f"{project_file} is {verdict.state}; run 'envr allow' to trust it")
    return cached(project_file, content, approvals.digest(content, lock)), lock
