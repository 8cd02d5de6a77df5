"""The distribution is envr-cli (PyPI's `envr` is another project); the command and the import package are envr,
and every install line a user copies names envr-cli."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import envr

REPO = Path(__file__).resolve().parents[2]


def test_the_installed_distribution_is_envr_cli_with_the_envr_command() -> None:
    dist = metadata.distribution("envr-cli")
    assert dist.version == envr.__version__
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"envr": "envr.__main__:main"}
    assert dist.metadata["Requires-Python"] == ">=3.11"


def test_every_install_line_names_envr_cli() -> None:
    for rel in ("README.md", ".pre-commit-hooks.yaml", "hooks/pre-commit"):
        text = (REPO / rel).read_text()
        wrong = re.findall(r"(?:pipx|uv tool|pip) install envr\b(?!-cli)", text)
        assert not wrong, f"{rel}: {wrong}"
    readme = (REPO / "README.md").read_text()
    assert "pipx install envr-cli" in readme and "uv tool install envr-cli" in readme
    assert "- run: pipx install envr-cli" in readme  # the GitHub Actions snippet
