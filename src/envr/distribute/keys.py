"""Signing keys on disk: `$XDG_CONFIG_HOME/envr/keys/NAME.secret` (0600, in a 0700 directory) and NAME.public.

A secret key file that anyone but its owner can read is refused, whoever wrote it, as ssh refuses such keys.
"""

from __future__ import annotations

import os
import stat

from envr.errors import EnvrError
from envr.store.cache.keys import KeyFormatError, PublicKey, SecretKey, check_name
from envr.store.cache.settings import config_dir


def keys_dir() -> str:
    return os.path.join(config_dir(), "keys")


def _private_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if st.st_mode & 0o077:
        raise EnvrError(f"{path} is open to others (mode {stat.S_IMODE(st.st_mode):04o}); run chmod 700 {path}")


def keygen(name: str) -> tuple[str, PublicKey]:
    """Write a new secret key NAME; returns its file and public key. Never replaces a key."""
    try:
        check_name(name)
    except KeyFormatError as e:
        raise EnvrError(str(e)) from None
    directory = keys_dir()
    _private_dir(directory)
    secret_file = os.path.join(directory, f"{name}.secret")
    key = SecretKey.generate(name)
    try:
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise EnvrError(f"{secret_file} exists; a key is never replaced (choose another NAME)") from None
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # whatever the umask
        f.write(key.text() + "\n")
    public = key.public()
    with open(os.path.join(directory, f"{name}.public"), "w") as f:
        f.write(public.text() + "\n")
    return secret_file, public


def load_secret(path: str) -> SecretKey:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        raise EnvrError(f"{path}: cannot read the secret key ({e.strerror})") from None
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise EnvrError(f"{path}: a secret key must be a regular file")
        if st.st_mode & 0o077:
            mode = stat.S_IMODE(st.st_mode)
            raise EnvrError(f"{path} is readable by others (mode {mode:04o}); run chmod 600 {path} first")
        if st.st_uid != os.getuid():
            raise EnvrError(f"{path} belongs to another user (uid {st.st_uid}); refusing to sign with it")
        text = f.read(4096)
    try:
        return SecretKey.parse(text)
    except KeyFormatError as e:
        raise EnvrError(f"{path}: {e}") from None


def signing_key(explicit: str | None) -> SecretKey:
    """--key FILE, or the one key under the keys directory."""
    if explicit:
        return load_secret(explicit)
    directory = keys_dir()
    try:
        found = sorted(n for n in os.listdir(directory) if n.endswith(".secret"))
    except FileNotFoundError:
        found = []
    if len(found) == 1:
        return load_secret(os.path.join(directory, found[0]))
    if not found:
        raise EnvrError(f"no signing key in {directory}; run envr cache keygen NAME, or give --key FILE")
    raise EnvrError(f"{len(found)} keys in {directory} ({', '.join(found)}); choose one with --key FILE")
