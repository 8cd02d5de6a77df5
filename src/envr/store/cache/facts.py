"""The signed facts about one store path: what a binary cache promises, and what a substituter checks.

The facts travel as the config blob of the path's OCI artifact (media type FACTS_TYPE), as JSON:

    {"envr": "store-path/1",
     "path": "/home/ci/.local/share/envr/store/<32 hex>-hello-2.12",   the store path as built (absolute)
     "contentHash": "sha256:<64 hex>",   store.hashing.tree_hash of the tree (NAR-like: names, kinds, exec bits,
                                         contents, link targets)
     "size": 123456,                     bytes of regular files, as tree_hash counts them
     "references": ["<32 hex>-dep-1.0"], store path names (basenames) it needs, sorted
     "recipeHash": "sha256:<64 hex>",    sha256 of {recipe, platform}; its first 32 hex name the store path
     "relocatable": true,                the tree does not contain its own absolute path
     "recipe": {...},                    the recipe itself (what the registry records), checked against recipeHash
     "platform": "linux-x86_64",         what it was built for, checked against recipeHash too
     "signatures": ["ci-1:<base64>"]}

A signature is ed25519 over the fingerprint, one line of exactly the facts that matter (as Nix signs a narinfo):

    envr-store-path-1;<path>;<contentHash>;<size>;<recipeHash>;<relocatable|fixed>;<ref>,<ref>,...

Recipe and platform are not in the fingerprint because recipeHash covers them, and the store path's name
covers recipeHash.
Names and paths may not hold `;`, `,` or control characters, so the line has exactly one reading.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from typing import Any

from envr.errors import EnvrError
from envr.fsutil import sha256
from envr.store.cache.keys import PublicKey, SecretKey
from envr.store.hashing import HASH_CHARS, canonical_json, platform_id

FORMAT = "store-path/1"
FINGERPRINT_TAG = "envr-store-path-1"
FACTS_TYPE = "application/vnd.envr.store-path.facts.v1+json"
_HEX = frozenset("0123456789abcdef")


class FactsError(EnvrError):
    """Facts that cannot be read or do not hold together."""


def recipe_hash(recipe: Any, platform: str | None = None) -> str:
    """The full hash whose first HASH_CHARS hex digits name a store path (store.hashing.path_hash)."""
    blob = canonical_json({"recipe": recipe, "platform": platform or platform_id()}).encode()
    return "sha256:" + sha256(blob).hexdigest()


def _sha256_ref(value: object, what: str) -> str:
    if not (isinstance(value, str) and value.startswith("sha256:") and len(value) == 71 and set(value[7:]) <= _HEX):
        raise FactsError(f"{what} is not sha256:<64 hex>: {value!r}")
    return value


def _platform(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isprintable():
        raise FactsError(f"platform {value!r} is not a platform name")
    return value


def check_name(name: object, what: str) -> str:
    """A store path name: <32 hex>-<name>-<version>, nothing that could split a fingerprint or a path."""
    if not (
        isinstance(name, str)
        and len(name) > HASH_CHARS + 1
        and set(name[:HASH_CHARS]) <= _HEX
        and name[HASH_CHARS] == "-"
        and not any(c in ";,/\\" or ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise FactsError(f"{what} {name!r} is not a store path name (<32 hex>-NAME-VERSION)")
    return name


@dataclass(frozen=True)
class Facts:
    path: str
    content_hash: str
    size: int
    references: tuple[str, ...]
    recipe_hash: str
    relocatable: bool
    recipe: Any
    platform: str
    signatures: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def store_dir(self) -> str:
        return os.path.dirname(self.path)

    def fingerprint(self) -> bytes:
        fields = [
            FINGERPRINT_TAG,
            self.path,
            self.content_hash,
            str(self.size),
            self.recipe_hash,
            "relocatable" if self.relocatable else "fixed",
            ",".join(self.references),
        ]
        return ";".join(fields).encode("utf-8", "surrogateescape")

    def signed(self, key: SecretKey) -> Facts:
        """These facts with key's signature added (replacing an older signature by the same name)."""
        others = tuple(s for s in self.signatures if s.partition(":")[0] != key.name)
        return replace(self, signatures=(*others, key.sign(self.fingerprint())))

    def trusted_by(self, keys: list[PublicKey]) -> PublicKey | None:
        """The first of keys that signed these exact facts, or None."""
        data = self.fingerprint()
        for key in keys:
            if key.verifies_any(self.signatures, data):
                return key
        return None

    def signers(self) -> list[str]:
        return [s.partition(":")[0] for s in self.signatures]

    def check_recipe(self) -> None:
        """Recipe and platform hash to recipeHash, and recipeHash names the path."""
        if recipe_hash(self.recipe, self.platform) != self.recipe_hash:
            raise FactsError(f"{self.name}: its recipe and platform do not hash to {self.recipe_hash}")
        if self.recipe_hash[7 : 7 + HASH_CHARS] != self.name[:HASH_CHARS]:
            raise FactsError(f"{self.name}: its name does not match its recipe hash {self.recipe_hash}")

    def to_json(self) -> bytes:
        doc = {
            "envr": FORMAT,
            "path": self.path,
            "contentHash": self.content_hash,
            "size": self.size,
            "references": list(self.references),
            "recipeHash": self.recipe_hash,
            "relocatable": self.relocatable,
            "recipe": self.recipe,
            "platform": self.platform,
            "signatures": list(self.signatures),
        }
        return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Facts:
        """Parse and check the facts' shape; where names their origin (URL and digest) in errors."""
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise FactsError(f"{where}: the facts are not JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("envr") != FORMAT:
            got = doc.get("envr") if isinstance(doc, dict) else None
            raise FactsError(f"{where}: not envr store path facts of format {FORMAT} (found {got!r})")
        try:
            path = doc["path"]
            if not isinstance(path, str) or not os.path.isabs(path) or os.path.normpath(path) != path:
                raise FactsError(f"path {path!r} is not a normalised absolute path")
            if any(c in ";," or ord(c) < 32 for c in path):
                raise FactsError(f"path {path!r} holds ';', ',' or a control character")
            check_name(os.path.basename(path), "path")
            refs = doc["references"]
            if not isinstance(refs, list):
                raise FactsError("references is not a list")
            size = doc["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise FactsError(f"size {size!r} is not a byte count")
            if not isinstance(doc["relocatable"], bool):
                raise FactsError("relocatable is not true or false")
            sigs = doc.get("signatures", [])
            if not isinstance(sigs, list) or not all(isinstance(s, str) for s in sigs):
                raise FactsError("signatures is not a list of NAME:BASE64")
            return cls(
                path=path,
                content_hash=_sha256_ref(doc["contentHash"], "contentHash"),
                size=size,
                references=tuple(sorted(check_name(r, "reference") for r in refs)),
                recipe_hash=_sha256_ref(doc["recipeHash"], "recipeHash"),
                relocatable=doc["relocatable"],
                recipe=doc["recipe"],
                platform=_platform(doc["platform"]),
                signatures=tuple(sigs),
            )
        except KeyError as e:
            raise FactsError(f"{where}: the facts lack {e.args[0]!r}") from None
        except FactsError as e:
            raise FactsError(f"{where}: {e}") from None
