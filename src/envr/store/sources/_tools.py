"""What envr reads back from the installers it runs (uv for pypi).

- What `envr add` pins (issue 10 item 5): the version of a universal resolution that the entry's own
  interpreter gets (installed_version).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.requirements import Requirement


def installed_version(target: str, req: Requirement, requirements: list[str]) -> str:
    """The version of the entry's own distribution that its interpreter gets from a universal resolution.

    `uv pip compile --universal` splits by Python version (`ansible-core==2.19.14 ; python_full_version <
    '3.12'` and `==2.21.5 ; >= 3.12`): the markers are evaluated for the entry's python (`target`) (its full version
    when it is the interpreter envr runs on, else X.Y.0) and this platform, so `envr add` pins what is
    installed. "url" for a URL requirement."""
    import platform
    import sys

    from packaging.markers import InvalidMarker, Marker, default_environment
    from packaging.utils import canonicalize_name

    from envr.errors import EnvrError

    def major_minor(version: str) -> str:
        return ".".join(version.split(".")[:2])

    if major_minor(target) == major_minor(platform.python_version()):
        full = platform.python_version()
    else:
        full = target if target.count(".") == 2 else f"{target}.0"
    environment = {key: str(value) for key, value in default_environment().items()}
    environment.update(python_version=major_minor(full), python_full_version=full)
    name = canonicalize_name(req.name)
    found: list[str] = []
    for line in requirements:
        pinned, _, marker = line.partition(";")
        if "==" not in pinned or canonicalize_name(pinned.split("==")[0].split("[")[0]) != name:
            continue
        version = pinned.split("==", 1)[1].strip()
        found.append(version)
        try:
            if not marker.strip() or Marker(marker.strip()).evaluate(environment):
                return version
        except InvalidMarker:
            continue
    if found:
        raise EnvrError(
            f"pypi {req}: the resolution has {', '.join(found)} for other Pythons, none for Python {full} on "
            f'{sys.platform}; set python = "X.Y" in the entry to choose one'
        )
    return "url"
