"""ed25519 signing keys, written as Nix writes them: `NAME:BASE64`.

- a public key is `NAME:` + base64 of its 32 raw bytes;
- a secret key is `NAME:` + base64 of 64 bytes: the 32-byte seed followed by the public key (libsodium's
  layout, which Nix uses too), so the public half can be checked against the seed;
- a signature is `NAME:` + base64 of the 64-byte ed25519 signature; NAME says which key to check it with.

NAME is what a person reads in `trusted-public-keys` (`ci.example.org-1`): letters, digits and `._+-`.
"""

from __future__ import annotations

import base64
import binascii

from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")


class KeyFormatError(EnvrError):
    """A key or signature that cannot be read."""


def check_name(name: str) -> str:
    if not name or len(name) > 128 or not all(c in _NAME_CHARS for c in name):
        raise KeyFormatError(f"key name {name!r} must be 1-128 letters, digits or ._+- (like ci.example.org-1)")
    return name


def _split(text: str, what: str, size: int) -> tuple[str, bytes]:
    name, sep, b64 = text.strip().partition(":")
    if not sep:
        raise KeyFormatError(f"{what} {text.strip()[:40]!r} is not NAME:BASE64")
    check_name(name)
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"{what} {name}: its key part is not base64") from None
    if len(raw) != size:
        raise KeyFormatError(f"{what} {name}: {len(raw)} bytes where an ed25519 {what} has {size}")
    return name, raw


class PublicKey:
    __slots__ = ("name", "raw")

    def __init__(self, name: str, raw: bytes) -> None:
        self.name = check_name(name)
        self.raw = raw

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        return cls(*_split(text, "public key", 32))

    def text(self) -> str:
        return f"{self.name}:{base64.b64encode(self.raw).decode()}"

    def verifies(self, signature: str, data: bytes) -> bool:
        """Whether signature (`NAME:BASE64`) is this key's over data. A signature by another name is not."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        name, sep, b64 = signature.partition(":")
        if not sep or name != self.name:
            return False
        try:
            sig = base64.b64decode(b64, validate=True)
            Ed25519PublicKey.from_public_bytes(self.raw).verify(sig, data)
        except (binascii.Error, ValueError, InvalidSignature):
            return False
        return True

    def verifies_any(self, signatures: tuple[str, ...] | list[str], data: bytes) -> bool:
        return any(self.verifies(s, data) for s in signatures)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.name, self.raw) == (other.name, other.raw)

    def __hash__(self) -> int:
        return hash((self.name, self.raw))

    def __repr__(self) -> str:
        return f"PublicKey({self.text()!r})"


class SecretKey:
    __slots__ = ("name", "seed")

    def __init__(self, name: str, seed: bytes) -> None:
        self.name = check_name(name)
        self.seed = seed

    @classmethod
    def generate(cls, name: str) -> SecretKey:
        import os

        return cls(name, os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> SecretKey:
        name, raw = _split(text, "secret key", 64)
        key = cls(name, raw[:32])
        if key.public().raw != raw[32:]:
            raise KeyFormatError(f"secret key {name}: its public half does not match its seed (a damaged key file?)")
        return key

    def _private(self) -> Ed25519PrivateKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def public(self) -> PublicKey:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self._private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return PublicKey(self.name, raw)

    def text(self) -> str:
        return f"{self.name}:{base64.b64encode(self.seed + self.public().raw).decode()}"

    def sign(self, data: bytes) -> str:
        return f"{self.name}:{base64.b64encode(self._private().sign(data)).decode()}"

    def __repr__(self) -> str:
        return f"SecretKey({self.name!r}, <secret>)"
