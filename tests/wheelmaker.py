"""Pure-Python wheels written by hand (a zip with METADATA, WHEEL, entry_points.txt, RECORD).

PyPI tools are tested against these, installed with no index: no network, no build backend.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    dest: Path, name: str, version: str, files: dict[str, str], entry_points: str = "", requires: tuple[str, ...] = ()
) -> Path:
    info = f"{name}-{version}.dist-info"
    members = dict(files)
    members[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    members[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: envr-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if entry_points:
        members[f"{info}/entry_points.txt"] = entry_points
    record = [_record_line(p, t.encode()) for p, t in members.items()] + [f"{info}/RECORD,,"]
    members[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in members.items():
            zf.writestr(member, text)
    return path
