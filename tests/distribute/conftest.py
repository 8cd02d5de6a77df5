"""Fixtures of this folder: a real registry and a counting origin server (oci_kit)."""

from oci_kit import origin, registry  # noqa: F401
