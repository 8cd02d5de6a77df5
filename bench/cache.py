#!/usr/bin/env python3
"""The binary cache against building and downloading, push/pull speed, and image rebuilds.

    python bench/cache.py [--mb 100] [--runs 3]

Everything on 127.0.0.1: Debian's docker-registry in a temp dir, a loopback origin web server, two teammates
(A builds and pushes, B substitutes) with their own stores. Each time is a whole `envr` command as a user runs
it (interpreter start included): the median of --runs fresh runs in part 1, one run in parts 2 and 3.

1. A package realised three ways: substituted from the registry; built from source (a build script compiling
   a generated C file with cc -O2); downloaded from the origin (a url tarball, no build).
2. A --mb MB store path (a url package of files copied from this Python's site-packages, a realistic mix of
   binaries and text): `envr cache push` and a substituting `envr sync`, in MB/s of tree; and the two compressions
   measured in process on that tree (compress and decompress MB/s, size), which is how zstd was chosen.
3. `envr image --push` of a project with five packages, then again after changing one of them: layers and
   bytes uploaded, and time.
Needs docker-registry (and cc for the build row). Nothing of yours is touched.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
ENVR = str(Path(sys.executable).parent / "envr")


def registry(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("docker-registry")
    if exe is None:
        sys.exit("docker-registry is not installed (apt-get install docker-registry)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp / "registry.yml"
    cfg.write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {tmp / 'registry'}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: bench\n"
    )
    proc = subprocess.Popen([exe, "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/v2/")
            if c.getresponse().status == 200:
                return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("docker-registry did not start")


def origin(root: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **k: object) -> None:
            super().__init__(*a, directory=str(root), **k)  # type: ignore[arg-type]

        def log_message(self, *a: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


class Mate:
    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVR_", "XDG_"))}
        env |= {f"XDG_{d.upper()}_HOME": str(home / d) for d in ("data", "config", "state", "cache")}
        self.env = env | {"HOME": str(home), "ENVR_STORE": str(home / "store"), "ENVR_SUBSTITUTERS": ""}

    def envr(self, *args: str, cwd: Path) -> float:
        started = time.perf_counter()
        r = subprocess.run([ENVR, *args], cwd=cwd, env={**self.env, "PWD": str(cwd)}, capture_output=True, text=True)
        took = time.perf_counter() - started
        if r.returncode != 0:
            sys.exit(f"envr {' '.join(args)} failed: {r.stderr}")
        self.last = r.stderr
        return took


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def project(root: Path, packages: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "envr.toml").write_text(f"version = 1\n\n[packages]\n{packages}\n")
    return root


def fresh_store(mate: Mate, base: Path) -> Callable[[int], object]:
    """Before run i: point mate at an empty store of its own, so every sync starts from nothing."""
    return lambda i: mate.env.update(ENVR_STORE=f"{base}-{i}")


def syncing(mate: Mate, proj: Path) -> Callable[[int], float]:
    return lambda _i: mate.envr("sync", cwd=proj)


def uploaded(line: str) -> str:
    """What `envr image --push` says it uploaded: "... uploaded 3 blobs, 2.0 MiB (...)" -> "3 blobs, 2.0 MiB"."""
    return line.split("uploaded ", 1)[1].split(" (", 1)[0]


def median_of(runs: int, prepare: Callable[[int], object], measure: Callable[[int], float]) -> float:
    times = [0.0] * runs
    for i in range(runs):
        prepare(i)
        times[i] = measure(i)
    return statistics.median(times)


def big_tree(dest: Path, mb: int) -> int:
    """Files from this interpreter's site-packages until mb MB; returns the bytes copied."""
    import site

    total, limit = 0, mb << 20
    for base in site.getsitepackages():
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                src = os.path.join(dirpath, name)
                if os.path.islink(src) or total >= limit:
                    continue
                size = os.path.getsize(src)
                target = dest / os.path.relpath(src, base)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
                total += size
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="envr-bench-cache-") as t:
        tmp = Path(t)
        proc, host = registry(tmp)
        (tmp / "origin").mkdir()
        httpd, url = origin(tmp / "origin")
        try:
            cache = f"oci://{host}/bench"
            a = Mate(tmp / "a")
            a.envr("cache", "keygen", "bench-1", cwd=a.home)
            key = (a.home / "config" / "envr" / "keys" / "bench-1.public").read_text().strip()

            # 1. one package three ways
            funcs = "\n".join(f"int f{i}(int x) {{ return x * {i} + (x >> 3) ^ {i}; }}" for i in range(3000))
            program = f'#include <stdio.h>\n{funcs}\nint main(void) {{ puts("calc"); return 0; }}\n'
            src = tar_gz({"calc/calc.c": program.encode()})
            (tmp / "origin" / "calc.tar.gz").write_bytes(src)
            payload = os.urandom(4 << 20) + b"text line\n" * 600_000
            blob = tar_gz({"data/bin/data": b"#!/bin/sh\necho data\n", "data/share/payload": payload})
            (tmp / "origin" / "data.tar.gz").write_bytes(blob)
            compile_it = "mkdir -p $out/bin && cc -O2 -o $out/bin/calc calc.c"
            kinds = {
                "build": f'calc = {{ url = "{url}/calc.tar.gz", sha256 = "{sha(src)}", build = "{compile_it}" }}',
                "download": f'data = {{ url = "{url}/data.tar.gz", sha256 = "{sha(blob)}", bin = ["*/bin/data"] }}',
            }
            for kind, entry in kinds.items():
                if kind == "build" and shutil.which("cc") is None:
                    rows.append((f"{kind}: from origin", "skipped (no cc)"))
                    continue
                proj = project(tmp / f"p-{kind}", entry)
                a.envr("allow", cwd=proj)
                origin_time = median_of(
                    args.runs,
                    fresh_store(a, tmp / f"a-{kind}"),
                    syncing(a, proj),
                )
                a.envr("cache", "push", cache, cwd=proj)
                b = Mate(tmp / f"b-{kind}")
                b.env |= {"ENVR_SUBSTITUTERS": cache, "ENVR_TRUSTED_PUBLIC_KEYS": key}
                b.envr("allow", cwd=proj)
                sub_time = median_of(
                    args.runs,
                    fresh_store(b, tmp / f"b-{kind}"),
                    syncing(b, proj),
                )
                assert "substituted" in b.last, b.last
                what = "built (cc -O2)" if kind == "build" else f"downloaded ({len(blob) >> 20} MiB .tar.gz)"
                ratio = f"{origin_time:.2f} s / {sub_time:.2f} s ({origin_time / sub_time:.1f}x)"
                rows.append((f"{kind}: {what} / substituted", ratio))

            # 2. a big store path: push and pull, and the compressions. A url package, so that B's sync names
            # the path from envr.toml alone (a path package would first hash its source tree).
            big = tmp / "p-big"
            size = big_tree(tmp / "big-src" / "tree", args.mb)
            big_tgz = tmp / "origin" / "big.tar.gz"
            with tarfile.open(big_tgz, "w:gz", compresslevel=1) as tar:
                tar.add(tmp / "big-src" / "tree", "tree")
            digest = sha(big_tgz.read_bytes())
            project(big, f'big = {{ url = "{url}/big.tar.gz", sha256 = "{digest}", bin = [] }}')
            a.env["ENVR_STORE"] = str(tmp / "a-big")
            a.envr("allow", cwd=big)
            a.envr("sync", cwd=big)
            push = a.envr("cache", "push", cache, cwd=big)
            b = Mate(tmp / "b-big")
            b.env |= {"ENVR_SUBSTITUTERS": cache, "ENVR_TRUSTED_PUBLIC_KEYS": key}
            b.envr("allow", cwd=big)
            pull = b.envr("sync", cwd=big)
            assert "substituted" in b.last, b.last
            mib = size / 1048576
            rows.append((f"push {mib:.0f} MiB store path (zstd)", f"{push:.2f} s, {mib / push:.0f} MiB/s"))
            rows.append((f"pull {mib:.0f} MiB (zstd, verified, registered)", f"{pull:.2f} s, {mib / pull:.0f} MiB/s"))
            from envr.store import registry as reg
            from envr.store.cache.layer import Decompressor, write_layer

            path = reg.entries(str(tmp / "a-big"))[0].path
            for comp in ("zstd", "gzip"):
                started = time.perf_counter()
                layer = write_layer(path, str(tmp / f"layer.{comp}"), comp)
                c_time = time.perf_counter() - started
                d = Decompressor(comp, 1 << 40, "bench")
                started = time.perf_counter()
                with open(layer.file, "rb") as f:
                    while chunk := f.read(1 << 20):
                        d.feed(chunk, lambda _b: None)
                d_time = time.perf_counter() - started
                rows.append(
                    (
                        f"{comp} layer of that path: tar+compress / decompress",
                        f"{mib / c_time:.0f} / {mib / d_time:.0f} MiB/s, {layer.size / size:.1%} of the tree",
                    )
                )
                os.unlink(layer.file)

            # 3. image rebuild after changing one package
            img = tmp / "p-image"
            entries = []
            for i in range(5):
                (img / f"t{i}" / "bin").mkdir(parents=True)
                (img / f"t{i}" / "bin" / f"t{i}").write_text(f"#!/bin/sh\necho t{i}\n")
                (img / f"t{i}" / "bin" / f"t{i}").chmod(0o755)
                (img / f"t{i}" / "data").write_bytes(os.urandom(2 << 20))
                entries.append(f't{i} = {{ path = "./t{i}" }}')
            project(img, "\n".join(entries))
            a.env["ENVR_STORE"] = str(tmp / "a-image")
            a.envr("allow", cwd=img)
            a.envr("sync", cwd=img)
            first = a.envr("image", "--push", f"oci://{host}/team/tools:1", cwd=img)
            first_line = a.last.strip().splitlines()[-1]
            (img / "t2" / "bin" / "t2").write_text("#!/bin/sh\necho t2, changed\n")
            a.envr("allow", cwd=img)
            a.envr("sync", cwd=img)
            second = a.envr("image", "--push", f"oci://{host}/team/tools:2", cwd=img)
            second_line = a.last.strip().splitlines()[-1]
            rows.append(("image push, 5 packages of 2 MiB", f"{first:.2f} s, uploaded {uploaded(first_line)}"))
            rows.append(("image push after changing one", f"{second:.2f} s, uploaded {uploaded(second_line)}"))
        finally:
            httpd.shutdown()
            proc.terminate()
            proc.wait(10)
    print(
        f"envr binary cache bench ({os.uname().machine}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"median of {args.runs})"
    )
    print("| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
