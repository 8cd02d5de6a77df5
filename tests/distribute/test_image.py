"""Images without a daemon: a busybox base, one layer per store path, checked with skopeo and umoci and run in
a chroot of the unpacked rootfs."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from oci_kit import Mate, Origin, Registry, busybox_layout, needs_oci_tools, needs_registry, needs_root, team_project

pytestmark = [needs_oci_tools, needs_root]
NOTES = 'notes = { path = "./notes" }\n'


def project(tmp_path: Path, origin: Origin) -> tuple[Mate, Path]:
    a = Mate(tmp_path, "a")
    proj = team_project(tmp_path / "a" / "proj", origin, tmp_path / "builds.txt", extra=NOTES)
    (proj / "notes" / "bin").mkdir(parents=True)
    (proj / "notes" / "bin" / "notes").write_text("#!/bin/sh\necho notes v1\n")
    (proj / "notes" / "bin" / "notes").chmod(0o755)
    a.envr("allow", cwd=proj)
    a.envr("sync", cwd=proj)
    return a, proj


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, f"{argv}: {r.stdout} {r.stderr}"
    return r.stdout


def unpack_and_run(layout: Path, ref: str, bundle: Path) -> tuple[dict[str, object], str]:
    """umoci unpacks the image; its tools run in a chroot of the rootfs with the image's Env."""
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:{ref}", str(bundle))
    process = json.loads((bundle / "config.json").read_text())["process"]
    env = dict(e.split("=", 1) for e in process["env"])
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    out = run(
        chroot,
        str(bundle / "rootfs"),
        "sh",
        "-c",
        "tool; greet; notes; echo TEAM=$TEAM",
        env={"PATH": env["PATH"], "TEAM": env.get("TEAM", "")},
    )
    return process, out


def test_an_image_archive_holds_the_base_and_the_store_and_its_tools_run_in_a_chroot(
    tmp_path: Path, origin: Origin
) -> None:
    a, proj = project(tmp_path, origin)
    base = busybox_layout(tmp_path / "busybox")
    out = tmp_path / "img.tar"
    a.envr(
        "image",
        "--base",
        f"oci-layout:{base}:latest",
        "--tag",
        "team/tools:1",
        "-o",
        str(out),
        "--entrypoint",
        "tool",
        cwd=proj,
    )
    info = json.loads(run("skopeo", "inspect", f"oci-archive:{out}"))
    store_layers = len(a.store_paths())
    base_layers = len(json.loads(run("skopeo", "inspect", f"oci:{base}:latest"))["Layers"])
    assert len(info["Layers"]) == base_layers + store_layers
    env = dict(e.split("=", 1) for e in info["Env"])
    assert env["TEAM"] == "ready" and env["PATH"].endswith(":/bin") and str(a.store) in env["PATH"]
    with tarfile.open(out) as tar:
        assert {"oci-layout", "index.json", "manifest.json"} <= set(tar.getnames())
    layout = tmp_path / "img-layout"
    layout.mkdir()
    run("tar", "-xf", str(out), "-C", str(layout))
    process, text = unpack_and_run(layout, "1", tmp_path / "unpacked")
    assert process["args"] == ["tool"]
    assert text.splitlines() == ["hello from the team tool", "greetings from the origin", "notes v1", "TEAM=ready"]
    assert (tmp_path / "unpacked" / "rootfs" / "tmp").stat().st_mode & 0o7777 == 0o1777  # the base's /tmp stays


@needs_registry
def test_a_pushed_image_shares_layers_and_a_rebuild_uploads_only_the_changed_one(
    tmp_path: Path, origin: Origin, registry: Registry
) -> None:
    a, proj = project(tmp_path, origin)
    base = busybox_layout(tmp_path / "busybox")
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{base}:latest", f"docker://{registry.host}/busybox:latest")
    base_ref = f"oci://{registry.host}/busybox:latest"
    first = a.envr("image", "--base", base_ref, "--push", f"oci://{registry.host}/team/tools:1", cwd=proj)
    n_store = len(a.store_paths())
    assert f"uploaded {n_store} of {n_store + 1} layers" in first.stderr, first.stderr  # the base layer is mounted
    again = a.envr("image", "--base", base_ref, "--push", f"oci://{registry.host}/team/tools:2", cwd=proj)
    assert f"uploaded 0 of {n_store + 1} layers" in again.stderr, again.stderr
    (proj / "notes" / "bin" / "notes").write_text("#!/bin/sh\necho notes v2\n")
    a.envr("allow", cwd=proj)
    a.envr("sync", cwd=proj)
    third = a.envr("image", "--base", base_ref, "--push", f"oci://{registry.host}/team/tools:3", cwd=proj)
    assert f"uploaded 1 of {n_store + 1} layers" in third.stderr, third.stderr
    info = json.loads(run("skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/team/tools:3"))
    assert "TEAM=ready" in info["Env"]
    pulled = tmp_path / "pulled"
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{registry.host}/team/tools:3", f"oci:{pulled}:3")
    _, text = unpack_and_run(pulled, "3", tmp_path / "unpacked")
    assert text.splitlines()[2:] == ["notes v2", "TEAM=ready"]
