"""`envr image`: an OCI image of a project's environment, without a container daemon.

    the base image's layers (if --base)
    + one gzip layer per store path of the project's closure (layer.py: the path at its absolute location),
      in closure order, references first
    + a config whose Env is the base's with the project's [env] applied on top and PATH = the project's
      PATH entries and package bins, then the base's PATH; --entrypoint (split like a shell) replaces the
      base's Entrypoint and Cmd

[path] entries inside the project directory are left out (the image does not hold the project), and so is
ENVR_ROOT. Layers are deterministic (same store path, same bytes), and a store path's layer digest is
remembered under the cache dir, so a rebuild pushes only the layers the registry lacks (HEAD before PUT)
and does not even compress the others again.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envr.distribute.base import OCI_CONFIG, ArchiveWriter, Image, architecture, blob_name, load_image
from envr.distribute.cache import work_dir
from envr.errors import EnvrError
from envr.fsutil import key_of, memo_load, memo_save
from envr.project.file import Project
from envr.store.cache.artifact import descriptor
from envr.store.cache.backend import OCI_INDEX, OCI_MANIFEST, Backend, Manifest, digest_of, read_verified
from envr.store.cache.layer import IMAGE_COMPRESSION, MEDIA_TYPES, write_layer
from envr.store.cache.layout import REF_NAME
from envr.store.hashing import file_sha256
from envr.store.registry import Entry

Say = Callable[[str], None]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = "1970-01-01T00:00:00Z"
_MEMO = "image-layers"
_LAYER_FORMAT = "1"  # bump when layer.py's bytes change


@dataclass
class StoreLayer:
    entry: Entry
    digest: str
    size: int
    diff_id: str
    file: str | None = None  # written this run, or None (remembered from an earlier one)


@dataclass
class Plan:
    base: Image
    store_layers: list[StoreLayer]
    config: bytes
    manifest: Manifest
    work: str  # a temp dir for layer files; the caller removes it

    def layers(self) -> list[dict[str, Any]]:
        return list(json.loads(self.manifest.data)["layers"])


def image_env(project: Project, base_env: list[str], bins: list[str], say: Say) -> list[str]:
    from envr.prompt.activate import activation

    env: dict[str, str] = {}
    for item in base_env:
        name, _, value = item.partition("=")
        env[name] = value
    act = activation(project, env, bins)
    for name, new in act.vars.items():
        if name == "ENVR_ROOT":
            continue
        if new is None:
            env.pop(name, None)
        else:
            env[name] = new

    def outside(entries: list[str]) -> list[str]:
        keep = []
        for e in entries:
            if e == project.root or e.startswith(project.root + os.sep):
                say(f"PATH entry {e} is inside the project, which the image does not hold; left out")
            else:
                keep.append(e)
        return keep

    path: list[str] = []
    for e in [*outside(act.prepend), *env.get("PATH", DEFAULT_PATH).split(":"), *outside(act.append)]:
        if e and e not in path:
            path.append(e)
    env["PATH"] = ":".join(path)
    return [f"{k}={v}" for k, v in env.items()]


def _store_layer(entry: Entry, work: str, need_file: bool) -> StoreLayer:
    key = key_of(f"{_LAYER_FORMAT}\0{IMAGE_COMPRESSION}\0{entry.path}\0{entry.hash}")
    memo = memo_load(_MEMO, key)
    if not need_file and isinstance(memo, tuple) and len(memo) == 3:
        return StoreLayer(entry, str(memo[0]), int(memo[1]), str(memo[2]))
    layer = write_layer(entry.path, os.path.join(work, os.path.basename(entry.path)), IMAGE_COMPRESSION)
    memo_save(_MEMO, key, (layer.digest, layer.size, layer.diff_id))
    return StoreLayer(entry, layer.digest, layer.size, layer.diff_id, layer.file)


def plan(
    project: Project,
    entries: list[Entry],
    bins: list[str],
    base_ref: str | None,
    entrypoint: str | None,
    say: Say,
    need_files: bool,
) -> Plan:
    import sys

    if not sys.platform.startswith("linux"):
        raise EnvrError("an image runs Linux binaries: build it on Linux (store paths hold this machine's)")
    base = load_image(base_ref) if base_ref else Image(None)
    work = tempfile.mkdtemp(prefix="image-", dir=work_dir())
    store_layers = [_store_layer(e, work, need_files) for e in entries]
    base_cfg = base.config.get("config") or {}
    cfg: dict[str, Any] = {k: v for k, v in base_cfg.items() if k in ("WorkingDir", "User", "Entrypoint", "Cmd")}
    cfg["Env"] = image_env(project, list(base_cfg.get("Env") or []), bins, say)
    if entrypoint is not None:
        cfg["Entrypoint"] = shlex.split(entrypoint)
        cfg.pop("Cmd", None)
    if base_cfg.get("Labels"):
        cfg["Labels"] = base_cfg["Labels"]
    history = list(base.config.get("history") or [])
    history += [{"created": EPOCH, "created_by": f"envr: {os.path.basename(sl.entry.path)}"} for sl in store_layers]
    config = {
        "created": EPOCH,
        "architecture": architecture(),
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [*base.diff_ids, *(sl.diff_id for sl in store_layers)]},
        "history": history,
    }
    config_blob = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    layers = [*base.layers]
    layers += [descriptor(MEDIA_TYPES[IMAGE_COMPRESSION], sl.digest, sl.size) for sl in store_layers]
    manifest_doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, digest_of(config_blob), len(config_blob)),
        "layers": layers,
    }
    manifest = Manifest(json.dumps(manifest_doc, sort_keys=True, separators=(",", ":")).encode(), OCI_MANIFEST)
    return Plan(base, store_layers, config_blob, manifest, work)


def _base_blob(base: Image, digest: str, size: int, work: str) -> str:
    """A base layer as a local file: the layout's own blob, or a verified download."""
    from envr.store.cache.layout import Layout

    if isinstance(base.backend, Layout):
        return base.backend.blob_path(digest)
    assert base.backend is not None
    path = os.path.join(work, digest[len("sha256:") :])
    if not os.path.exists(path):
        with open(path + ".part", "wb") as f:
            read_verified(base.backend, digest, size, f.write, what="base layer")
        os.rename(path + ".part", path)
    return path


def write_archive(p: Plan, out_file: str, name: str, tag: str) -> None:
    """An OCI archive (with docker's manifest.json beside the layout), written to a temp file and renamed."""
    tmp = f"{out_file}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            w = ArchiveWriter(out)
            w.directory("blobs")
            w.directory("blobs/sha256")
            by_digest = {sl.digest: sl for sl in p.store_layers}
            for d in p.layers():
                if blob_name(d["digest"]) in w.seen:
                    continue
                sl = by_digest.get(d["digest"])
                file = sl.file if sl is not None else _base_blob(p.base, d["digest"], d["size"], p.work)
                assert file is not None
                with open(file, "rb") as f:
                    w.stream(blob_name(d["digest"]), d["size"], f)
            config_digest = digest_of(p.config)
            w.data(blob_name(config_digest), p.config)
            w.data(blob_name(p.manifest.digest), p.manifest.data)
            w.data("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            entry = descriptor(OCI_MANIFEST, p.manifest.digest, len(p.manifest.data))
            entry["annotations"] = {REF_NAME: tag, "io.containerd.image.name": f"{name}:{tag}"}
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
            w.data("index.json", json.dumps(index, sort_keys=True).encode())
            docker = [
                {
                    "Config": blob_name(config_digest),
                    "RepoTags": [f"{name}:{tag}"],
                    "Layers": [blob_name(d["digest"]) for d in p.layers()],
                }
            ]
            w.data("manifest.json", json.dumps(docker).encode())
            w.close()
        os.replace(tmp, out_file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def push(p: Plan, dest: Backend, tag: str, say: Say, dest_host: str, progress: Callable[[int], None]) -> int:
    """Upload the blobs dest lacks (HEAD before PUT; a base on the same registry is mounted), then the
    manifest under tag. Returns how many layers were uploaded."""
    from envr.store.cache.distribution import Registry

    uploaded = 0
    by_digest = {sl.digest: sl for sl in p.store_layers}
    for d in p.layers():
        digest, size = str(d["digest"]), int(d["size"])
        if dest.has_blob(digest):
            continue
        sl = by_digest.get(digest)
        mountable = sl is None and p.base.host == dest_host and p.base.repository is not None
        if mountable and isinstance(dest, Registry) and dest.mount(digest, str(p.base.repository)):
            continue
        if sl is not None:
            file = sl.file or _store_layer(sl.entry, p.work, True).file
            if file is None or "sha256:" + file_sha256(file) != digest:
                raise EnvrError(f"{sl.entry.path}: its layer no longer comes out as {digest}; run envr image again")
        else:
            file = _base_blob(p.base, digest, size, p.work)
        with open(file, "rb") as f:
            dest.put_blob(digest, size, f, progress)
        uploaded += 1
        say(f"uploaded layer {digest} ({size / 1048576:.1f} MiB)")
    config_digest = digest_of(p.config)
    if not dest.has_blob(config_digest):
        import io

        dest.put_blob(config_digest, len(p.config), io.BytesIO(p.config), None)
    dest.put_manifest(tag, p.manifest)
    return uploaded
