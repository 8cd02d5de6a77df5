"""One realisation, as the watcher's child process: `python -m envr.services.watch.child FILE DIGEST`."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from envr import dirs
from envr.errors import EnvrError
from envr.services.watch.state import BUILD_FAILED, BUILD_NOT_APPROVED, BUILD_OK
from envr.trust import approvals as trust


def _build_main(argv: list[str]) -> int:
    """Realise FILE's packages if its content is still the approved DIGEST.

    Prints one JSON line on stdout ({"built": [...]} or {"error": ..., "logs": [...]}); progress on stderr."""
    file, expected = argv[0], argv[1]

    def interrupted(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through realise, which removes its work dir

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    def say(message: str) -> None:
        print(f"envr: {message}", file=sys.stderr, flush=True)

    def result(code: int, **data: Any) -> int:
        print(json.dumps(data), flush=True)
        return code

    from envr.project.load import parse
    from envr.project.packages import sync

    try:
        from envr.fsutil import read_regular

        content = read_regular(file)
        lock = trust.read_lock(file)
        digest = trust.digest(content, lock)
        verdict = trust.check(file, digest)
        if not verdict.allowed or digest != expected:
            return result(BUILD_NOT_APPROVED, error=f"{file} is {verdict.state if not verdict.allowed else 'changed'}")
        project = parse(file, content)
        resolved, built = sync(project, os.environ, say, lock_content=lock)
    except EnvrError as e:
        return result(BUILD_FAILED, error=str(e), logs=_log_paths(str(e)))
    except OSError as e:
        return result(BUILD_FAILED, error=f"{file}: {e.strerror or e}")
    return result(BUILD_OK, built=built, paths=[r.path for r in resolved.values()])


def _log_paths(message: str) -> list[str]:
    """Build log paths a realise error names (its message ends with the log's path)."""
    logs = os.path.join(dirs.state_dir(), "logs") + os.sep
    found = []
    for word in message.replace("(", " ").replace(")", " ").split():
        word = word.rstrip(".,;:")
        if word.startswith(logs) and word not in found:
            found.append(word)
    return found


if __name__ == "__main__":
    sys.exit(_build_main(sys.argv[1:]))
