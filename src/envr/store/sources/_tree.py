"""What url and path entries share: the tree keys (bin, build, inputs, version) and running a build script.

Not a source kind itself: an entry with `build = "script"` is a url or path entry whose tree is the build's
input. The script runs with bash -e in a temp copy of the source ($src, also the working directory), with
$out the final store path, PATH = the inputs' bin dirs + the system PATH, and its whole output in a log file.
"""

from __future__ import annotations

import os

from envr.errors import EnvrError

TYPE_CHECKING = False  # validation runs on the prompt's path; glob/subprocess/tempfile only when realising
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any

    from envr.store.sources.base import PackageSpec, RealiseContext

TREE_KEYS = ("bin", "build", "inputs", "version")
TAIL_LINES = 20


class BuildError(EnvrError):
    pass


def validate_tree_keys(spec: PackageSpec, own: tuple[str, ...]) -> None:
    for key in spec.entry:
        if key not in own and key not in TREE_KEYS:
            allowed = ", ".join((*own, *TREE_KEYS, "prefer"))
            raise spec.error(f"unknown key {key!r} for a {spec.kind} entry (expected one of: {allowed})")
    e = spec.entry
    for key in ("bin", "inputs"):
        if key in e and (not isinstance(e[key], list) or not all(isinstance(v, str) and v for v in e[key])):
            raise spec.error(f"{key} must be an array of non-empty strings")
    for key in ("build", "version"):
        if key in e and (not isinstance(e[key], str) or not e[key]):
            raise spec.error(f"{key} must be a non-empty string")
    if "version" in e and ("/" in e["version"] or e["version"].startswith(".")):
        raise spec.error("version must not contain '/' or start with '.'")
    if "inputs" in e and "build" not in e:
        raise spec.error("inputs only make sense with a build script")


def tree_recipe(spec: PackageSpec) -> dict[str, Any]:
    e = spec.entry
    return {"bin": e.get("bin"), "build": e.get("build")}


def builds_in_place(spec: PackageSpec) -> bool:
    return "build" in spec.entry


def bins(spec: PackageSpec, out: Path) -> list[str]:
    """Executables matched by the entry's bin globs (relative to out); by default bin/* (executables only)."""
    import glob

    patterns = spec.entry.get("bin")
    found: list[str] = []
    if patterns is None:
        for rel in sorted(glob.glob("bin/*", root_dir=out)):
            full = os.path.join(out, rel)
            if os.path.isfile(full) and os.access(full, os.X_OK):
                found.append(rel)
        return found
    for pattern in patterns:
        matches = sorted(m for m in glob.glob(pattern, root_dir=out) if os.path.isfile(os.path.join(out, m)))
        if not matches:
            raise EnvrError(f"packages.{spec.name}: bin pattern {pattern!r} matched no file")
        found.extend(m for m in matches if m not in found)
    return found


def realise_tree(spec: PackageSpec, out: Path, ctx: RealiseContext, fill: Callable[[str], None]) -> None:
    """fill(dir) puts the source tree into dir. Without a build script that dir is out itself; with one,
    it is a temp build dir and the script installs into $out. Either way, out must then hold no symlink that
    resolves outside it (see check_links)."""
    import shutil
    import tempfile

    script = spec.entry.get("build")
    if script is None:
        fill(str(out))
        check_links(spec, str(out))
        return
    work = tempfile.mkdtemp(prefix=f"envr-build-{spec.name}-")
    try:
        src = os.path.join(work, "src")
        os.mkdir(src)
        fill(src)
        entries = os.listdir(src)
        if len(entries) == 1 and os.path.isdir(os.path.join(src, entries[0])):
            src = os.path.join(src, entries[0])  # an archive's single top-level directory
        run_script(spec, script, src, out, ctx, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if os.path.isdir(out) and not os.path.islink(out):  # realise refuses the rest with its own line
        check_links(spec, str(out))


def check_links(spec: PackageSpec, out: str) -> None:
    """Refuse a tree holding a symlink that resolves outside it (followed on disk, chains included).

    A store path must be whole by itself: its hash covers a link's text, not what it points at, so a link out
    of it (into the project, $HOME, /etc) would make what runs differ from what was hashed and approved.
    Links inside the tree are kept as links; bins outside were already refused (realise.expose_bins)."""
    real_out = os.path.realpath(out)
    for parent, dirnames, filenames in os.walk(out):
        for name in dirnames + filenames:
            p = os.path.join(parent, name)
            if not os.path.islink(p):
                continue
            real = os.path.realpath(p)
            if real != real_out and not real.startswith(real_out + os.sep):
                rel = os.path.relpath(p, out)
                raise spec.error(
                    f"{rel} is a symlink to {os.readlink(p)}, outside the package; a store path must not point "
                    "outside itself (copy the file in, or make the link relative and inside the tree)"
                )


def _supervisor() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_supervise.py")


def run_script(spec: PackageSpec, script: str, src: str, out: Path, ctx: RealiseContext, work: str) -> None:
    """Run the build with bash -e. On Linux it runs under _supervise.py: in its own process group, killed
    with every process it left (a forked daemon included) when it ends, and when envr dies (kill -9 too).
    It inherits ctx.keep_fds (realise passes the store path's flock)."""
    import subprocess
    import sys

    environ: Mapping[str, str] = ctx.environ or os.environ
    path = [os.path.join(str(p), ".envr", "bin") for p in ctx.inputs.values()]
    path.append(environ.get("PATH", os.defpath))
    tmp = os.path.join(work, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": work,
        "TMPDIR": tmp,
        "LANG": "C",
        "out": str(out),
        "src": src,
    }
    for name, p in ctx.inputs.items():
        env[f"input_{name.replace('-', '_').replace('.', '_').replace('+', '_')}"] = str(p)
    keep: tuple[int, ...] = tuple(getattr(ctx, "keep_fds", ()))
    command = ["bash", "-e", "-c", script]
    if sys.platform.startswith("linux"):
        keep_fd = keep[0] if keep else -1
        command = [sys.executable, "-I", "-S", _supervisor(), "front", str(os.getpid()), str(keep_fd), "--", *command]
    ctx.log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(ctx.log_path, "wb") as log:
        log.write(f"# build of {spec.name}: bash -e, in {src}, out={out}\n".encode())
        log.flush()
        proc = subprocess.run(
            command, cwd=src, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=keep
        )
    if proc.returncode != 0:
        with open(ctx.log_path, "rb") as f:
            tail = f.read().decode("utf-8", "replace").splitlines()[-TAIL_LINES:]
        raise BuildError(
            f"build of {spec.name} failed with exit code {proc.returncode}; last lines of the log:\n"
            + "\n".join("  " + line for line in tail)
            + f"\nfull log: {ctx.log_path}"
        )
