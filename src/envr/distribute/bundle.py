"""`envr bundle`: a project's closure as one file, for a machine that has no network (or no envr).

The file is a tar whose top level is an OCI image layout holding one store path artifact per path of the
closure (the cache's format, with gzip layers, signed when a key is at hand), beside the project's envr.toml,
its envr.lock and an `enter` script (enter.py):

    oci-layout  index.json  blobs/sha256/...   the artifacts, tagged with their store path names
    envr.toml  envr.lock                       the project as it was bundled
    enter                                      ./enter COMMAND: the environment without envr

`envr bundle --import FILE` unpacks it with the safe extractor and installs every path into this machine's
store exactly as a substitution does: trusted signature (or --trust: the user vouches for the file), recipe,
layer digest, content hash; references first. No network is needed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable

from envr.distribute.base import ArchiveWriter, blob_name
from envr.distribute.cache import work_dir
from envr.distribute.closure import closure, project_paths
from envr.distribute.enter import script
from envr.errors import EnvrError
from envr.project.file import Project
from envr.store import registry
from envr.store.cache.artifact import Artifact, Unshareable, descriptor, manifest_for, pack, read_artifact, tag_for
from envr.store.cache.backend import digest_of
from envr.store.cache.install import check, install, unpack_tar
from envr.store.cache.keys import PublicKey, SecretKey
from envr.store.cache.layout import Layout
from envr.store.cache.transport import CacheError

Say = Callable[[str], None]


def make(project: Project, store: str, out_file: str, key: SecretKey | None, say: Say) -> int:
    """Write the bundle; returns how many store paths it holds."""
    from envr.project.packages import view

    entries = closure(store, list(project_paths(project, store).values()))
    bins = view(project, os.environ, store=store).bins
    with tempfile.TemporaryDirectory(dir=work_dir()) as work:
        layout = Layout(os.path.join(work, "layout"), create=True)
        placed: list[tuple[str, str]] = []
        for entry in entries:
            try:
                facts, layer = pack(entry.path, entry.recipe, entry.hash, list(entry.references), work, "gzip")
            except Unshareable as e:
                raise EnvrError(f"cannot bundle {entry.path}: {e}") from None
            if key is not None:
                facts = facts.signed(key)
            with open(layer.file, "rb") as f:
                layout.put_blob(layer.digest, layer.size, f, None)
            os.unlink(layer.file)
            blob = facts.to_json()
            layout.put_blob(digest_of(blob), len(blob), io.BytesIO(blob), None)
            layout.put_manifest(
                tag_for(facts.name), manifest_for(blob, facts, descriptor(layer.media_type, layer.digest, layer.size))
            )
            placed.append((entry.path, layer.digest[len("sha256:") :]))
            say(f"{facts.name}: {layer.size / 1048576:.1f} MiB{'' if facts.relocatable else ' (fixed store dir)'}")
        enter = script(project, store, placed, bins)
        _write(layout, project, enter, out_file)
    return len(entries)


def _write(layout: Layout, project: Project, enter: str, out_file: str) -> None:
    tmp = f"{out_file}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            w = ArchiveWriter(out)
            w.data("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            index = layout.index()
            w.data("index.json", json.dumps(index, indent=1, sort_keys=True).encode())
            w.directory("blobs")
            w.directory("blobs/sha256")
            for name in sorted(os.listdir(os.path.join(layout.root, "blobs", "sha256"))):
                path = os.path.join(layout.root, "blobs", "sha256", name)
                with open(path, "rb") as f:
                    w.stream(blob_name("sha256:" + name), os.path.getsize(path), f)
            w.data("envr.toml", project.content)
            if os.path.isfile(project.lock_file):
                with open(project.lock_file, "rb") as f:
                    w.data("envr.lock", f.read())
            w.data("enter", enter.encode(), 0o755)
            w.close()
        os.replace(tmp, out_file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _ordered(artifacts: list[Artifact], where: str) -> list[Artifact]:
    by_name = {a.facts.name: a for a in artifacts}
    out: list[Artifact] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(a: Artifact) -> None:
        if a.facts.name in done:
            return
        if a.facts.name in visiting:
            raise EnvrError(f"{where}: store paths reference each other in a circle at {a.facts.name}")
        visiting.add(a.facts.name)
        for ref in a.facts.references:
            if ref in by_name and ref != a.facts.name:
                visit(by_name[ref])
        visiting.discard(a.facts.name)
        done.add(a.facts.name)
        out.append(a)

    for a in sorted(artifacts, key=lambda a: a.facts.name):
        visit(a)
    return out


def import_(file: str, store: str, keys: list[PublicKey] | None, say: Say) -> tuple[int, int]:
    """Install a bundle's store paths into store; keys=None trusts the file (--trust). (imported, present)."""
    from envr.store.flocks import path_flock, store_flock
    from envr.store.realise import clean_leftovers

    if keys is not None and not keys:
        raise EnvrError(
            "no trusted-public-keys to check the bundle's signatures with; set them, or pass --trust "
            "if you vouch for this file"
        )
    imported = present = 0
    with tempfile.TemporaryDirectory(dir=work_dir()) as work:
        unpack_tar(file, work, file)
        try:
            layout = Layout(work, url=f"bundle {file}")
        except CacheError:
            raise EnvrError(f"{file}: not an envr bundle (no OCI layout inside)") from None
        arts = []
        for tag in layout.tags():
            art = read_artifact(layout, None, tag)
            if art is None:
                raise EnvrError(f"{file}: tag {tag} names no store path")
            arts.append(art)
        for art in _ordered(arts, file):
            path = os.path.join(store, art.facts.name)
            if registry.valid(store, [path]):
                present += 1
                continue
            check(art.facts, f"{file} {art.facts.name}", store, keys or [], None)
            with store_flock(store), path_flock(store, path):
                if registry.valid(store, [path]):
                    present += 1
                    continue
                clean_leftovers(store, path)
                install(store, path, layout, art)
            imported += 1
            say(f"imported {art.facts.name}")
    return imported, present
