"""Loopback mirrors serving real runtimes, in the layouts envr reads: nodejs.org's dist (this machine's node,
repacked), python-build-standalone (this machine's Debian CPython, made relocatable) and go.dev's download
index (Debian's Go toolchain, repacked), each with other versions listed for other platforms."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from sources_helpers import Server

PLATFORMS = ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_tree(root: Path, top: str, skip: tuple[str, ...] = ()) -> bytes:
    """A .tar.gz of root's content under top/, symlinks inside kept, links leading out dereferenced."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(d for d in dirnames if not any(s in os.path.join(rel_dir, d) for s in skip))
            for name in [*dirnames, *sorted(filenames)]:
                full = os.path.join(dirpath, name)
                rel = os.path.normpath(os.path.join(top, rel_dir, name))
                if any(s in rel for s in skip):
                    continue
                if os.path.islink(full):
                    target = os.readlink(full)
                    inside = not os.path.isabs(target) and os.path.realpath(full).startswith(str(root) + os.sep)
                    if inside and not os.path.isdir(full):
                        info = tarfile.TarInfo(rel)
                        info.type, info.linkname = tarfile.SYMTYPE, target
                        tar.addfile(info)
                        continue
                    if not os.path.exists(full):
                        continue
                if os.path.isdir(full):
                    tar.addfile(_dir(rel))
                    continue
                info = tar.gettarinfo(full, rel)
                info.type = tarfile.REGTYPE
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.size = os.path.getsize(full)
                with open(full, "rb") as f:
                    tar.addfile(info, f)
    return buf.getvalue()


def _dir(rel: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(rel)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


# --- node ---------------------------------------------------------------------------------------------------


def machine_node() -> tuple[str, str] | None:
    """(version without v, path) of this machine's node, or None."""
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return out.lstrip("v"), os.path.realpath(node)


def node_tarball(version: str, node: str, work: Path) -> bytes:
    """node-vX-linux-x64.tar.gz holding this machine's node binary (and nothing else)."""
    cached = work / f"node-v{version}-linux-x64.tar.gz"
    if not cached.exists():
        tree = work / "node-tree"
        (tree / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(node, tree / "bin" / "node")
        cached.write_bytes(tar_tree(tree, f"node-v{version}-linux-x64"))
    return cached.read_bytes()


class NodeMirror:
    """nodejs.org's layout under /node: index.json, vX/SHASUMS256.txt, vX/node-vX-PLATFORM.tar.gz."""

    def __init__(self, server: Server, real: str, tarball: bytes) -> None:
        self.server = server
        self.real = real
        self.tarball = tarball
        self.root = f"{server.url}/node"
        major = int(real.split(".")[0])
        # the real one (linux-x64 only), others for every platform (archives never served: only locked)
        self.versions = {
            real: ["linux-x64"],
            f"{major - 2}.20.4": list(PLATFORMS),
            f"{major + 2}.3.0": list(PLATFORMS),
            f"{major + 2}.1.0": list(PLATFORMS),
            f"{major + 3}.1.0": list(PLATFORMS),
        }
        self.lts = {real, f"{major - 2}.20.4", f"{major + 2}.3.0"}
        self.publish()

    def publish(self) -> None:
        index = []
        for version, platforms in sorted(
            self.versions.items(), key=lambda kv: [int(p) for p in kv[0].split(".")], reverse=True
        ):
            files = [{"darwin-x64": "osx-x64-tar", "darwin-arm64": "osx-arm64-tar"}.get(p, p) for p in platforms]
            index.append(
                {
                    "version": f"v{version}",
                    "date": "2026-01-01",
                    "files": files,
                    "lts": "Codename" if version in self.lts else False,
                }
            )
            lines = []
            for p in platforms:
                name = f"node-v{version}-{p}.tar.gz"
                data = self.tarball if version == self.real and p == "linux-x64" else f"not served {name}".encode()
                if version == self.real and p == "linux-x64":
                    self.server.put(f"node/v{version}/{name}", data)
                lines.append(f"{sha(data)}  {name}")
            self.server.put(f"node/v{version}/SHASUMS256.txt", ("\n".join(lines) + "\n").encode())
        self.server.put("node/index.json", json.dumps(index).encode())

    def archive_requests(self) -> list[str]:
        return [r for r in self.server.requests if r.endswith((".tar.gz", ".tar.xz"))]


# --- python -------------------------------------------------------------------------------------------------

DEBIAN_PYTHON = "/usr/bin/python3.11"


def debian_python_version() -> str | None:
    if not os.path.isfile(DEBIAN_PYTHON) or not os.path.isdir("/usr/lib/python3.11"):
        return None
    code = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
    return subprocess.run([DEBIAN_PYTHON, "-I", "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def python_tarball(work: Path) -> bytes:
    """An install_only build in python-build-standalone's layout (python/bin/python3.11, python/lib/python3.11)
    from Debian's CPython, whose interpreter has libpython built in and finds its library beside itself."""
    cached = work / "cpython-install_only.tar.gz"
    if not cached.exists():
        tree = work / "python-tree"
        (tree / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(DEBIAN_PYTHON, tree / "bin" / "python3.11")
        os.symlink("python3.11", tree / "bin" / "python3")
        (tree / "lib").mkdir(exist_ok=True)
        os.symlink("/usr/lib/python3.11", tree / "lib" / "python3.11")  # walked (followed) by tar_tree
        cached.write_bytes(
            tar_tree(
                tree,
                "python",
                skip=("/test/", "EXTERNALLY-MANAGED", "__pycache__", "dist-packages", "/idlelib", "/tkinter"),
            )
        )
    return cached.read_bytes()


class PythonMirror:
    """python-build-standalone's layout under /pbs/RELEASE/, with SHA256SUMS, and a downloads list in uv's
    download-metadata.json form naming the builds (the real one, and others for other platforms)."""

    RELEASE = "20260101"

    def __init__(self, server: Server, real: str, tarball: bytes) -> None:
        self.server = server
        self.root = f"{server.url}/pbs"
        self.real = real
        self.tarball = tarball
        self.downloads: dict[str, dict[str, object]] = {}
        triples = {
            "linux-x64": ("linux", "x86_64", "gnu", "x86_64-unknown-linux-gnu"),
            "linux-arm64": ("linux", "aarch64", "gnu", "aarch64-unknown-linux-gnu"),
            "darwin-x64": ("darwin", "x86_64", "none", "x86_64-apple-darwin"),
            "darwin-arm64": ("darwin", "aarch64", "none", "aarch64-apple-darwin"),
        }
        sums = []
        for version, platforms in ((real, ["linux-x64"]), ("3.12.7", list(PLATFORMS)), ("3.12.5", list(PLATFORMS))):
            major, minor, patch = (int(p) for p in version.split("."))
            for p in platforms:
                osname, arch, libc, triple = triples[p]
                name = f"cpython-{version}+{self.RELEASE}-{triple}-install_only.tar.gz"
                data = tarball if version == real else f"not served {name}".encode()
                if version == real:
                    server.put(f"pbs/{self.RELEASE}/{name.replace('+', '%2B')}", data)  # as the URL spells it
                sums.append(f"{sha(data)}  {name}")
                self.downloads[f"cpython-{version}-{osname}-{arch}-{libc}"] = {
                    "name": "cpython",
                    "arch": {"family": arch, "variant": None},
                    "os": osname,
                    "libc": libc,
                    "major": major,
                    "minor": minor,
                    "patch": patch,
                    "prerelease": "",
                    "url": f"{self.root}/{self.RELEASE}/{name.replace('+', '%2B')}",
                    "sha256": None,
                    "variant": None,
                }
        server.put(f"pbs/{self.RELEASE}/SHA256SUMS", ("\n".join(sums) + "\n").encode())
        self.downloads_url = server.put("pbs/downloads.json", json.dumps(self.downloads).encode())


# --- go -----------------------------------------------------------------------------------------------------


def debian_go() -> tuple[str, Path] | None:
    """(version, GOROOT) of Debian's Go toolchain (apt-get install golang-go), or None."""
    for root in sorted(Path("/usr/lib").glob("go-1.*"), reverse=True):
        exe = root / "bin" / "go"
        if exe.is_file():
            out = subprocess.run(
                [str(exe), "version"],
                capture_output=True,
                text=True,
                env={"PATH": os.defpath, "HOME": "/nonexistent", "GOTOOLCHAIN": "local"},
            ).stdout.split()
            if len(out) >= 3 and out[2].startswith("go"):
                return out[2][2:], root
    return None


def go_tarball(root: Path, work: Path) -> bytes:
    """goX.linux-amd64.tar.gz: the real toolchain's bin, pkg/tool, pkg/include and src (no tests), under go/."""
    cached = work / "go.linux-amd64.tar.gz"
    if not cached.exists():
        tree = work / "go-tree"
        tree.mkdir(parents=True, exist_ok=True)
        for part in ("bin", "src", "VERSION"):
            if (root / part).exists():
                os.symlink(os.path.realpath(root / part), tree / part)
        (tree / "pkg").mkdir(exist_ok=True)
        for part in ("tool", "include"):
            if (root / "pkg" / part).exists():
                os.symlink(os.path.realpath(root / "pkg" / part), tree / "pkg" / part)
        cached.write_bytes(tar_tree(tree, "go", skip=("/testdata", "_test.go", "/test/")))
    return cached.read_bytes()


class GoMirror:
    """go.dev's download index under /go/?mode=json&include=all, files under /go/FILE."""

    def __init__(self, server: Server, real: str | None, tarball: bytes | None) -> None:
        self.server = server
        self.root = f"{server.url}/go"
        goos = {
            "linux-x64": ("linux", "amd64"),
            "linux-arm64": ("linux", "arm64"),
            "darwin-x64": ("darwin", "amd64"),
            "darwin-arm64": ("darwin", "arm64"),
        }
        index = []
        releases = [("1.23.2", list(PLATFORMS)), ("1.23.1", list(PLATFORMS)), ("1.22.8", list(PLATFORMS))]
        if real is not None:
            releases.append((real, ["linux-x64"]))
        for version, platforms in releases:
            files = []
            for p in platforms:
                osname, arch = goos[p]
                name = f"go{version}.{osname}-{arch}.tar.gz"
                data = tarball if version == real and tarball is not None else f"not served {name}".encode()
                if version == real:
                    server.put(f"go/{name}", data)
                files.append(
                    {
                        "filename": name,
                        "os": osname,
                        "arch": arch,
                        "version": f"go{version}",
                        "sha256": sha(data),
                        "size": len(data),
                        "kind": "archive",
                    }
                )
            index.append({"version": f"go{version}", "stable": True, "files": files})
        index.append({"version": "go1.24rc1", "stable": False, "files": []})
        server.put("go/?mode=json&include=all", json.dumps(index).encode())

    def archive_requests(self) -> list[str]:
        return [r for r in self.server.requests if r.endswith(".tar.gz")]
