"""bench/run's real project (issue 11): 4 PyPI tools, 2 npm tools, 1 url and 1 path package, made offline.

usage: python bench/realproject.py serve DIR PORTFILE
           serve DIR on 127.0.0.1 (a free port, written to PORTFILE) until killed: the url package's origin
       python bench/realproject.py make ROOT WHEELHOUSE DIST URL NPM_CACHE
           write ROOT/envr.toml and what it points at: wheels built by hand into WHEELHOUSE (tests/wheelmaker),
           two `npm pack` tarballs into ROOT/vendor, urltool-1.0.tar.gz into DIST (served at URL), ROOT/tools
       python bench/realproject.py others ROOT BASE_PATH < envr-export.json
           from `envr export json` of the realised project: .envrc and mise.toml putting the same realised tool
           directories on PATH, in the same order, with the same variables (so the three tools manage one
           environment); prints the directories, one a line.

The project file's [env] and [path] are the plain project's (three variables and bin/), so a plain and a
packages project differ only by [packages].
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from wheelmaker import make_wheel

ENV = {"APP_ENV": "development", "DATABASE_URL": "postgres://localhost:5432/app_dev", "LOG_LEVEL": "debug"}
PYPI = ("benchfmt", "benchlint", "benchtest", "benchdoc")  # each with a console script of its name
NPM = ("bench-npm-a", "bench-npm-b")


def serve(directory: str, portfile: str) -> None:
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=directory))
    tmp = portfile + ".tmp"
    Path(tmp).write_text(str(httpd.server_address[1]))
    os.replace(tmp, portfile)
    httpd.serve_forever()


def make(root: Path, wheelhouse: Path, dist: Path, url: str, npm_cache: str) -> None:
    for d in (root / "bin", root / "sub", root / "vendor", root / "tools", wheelhouse, dist):
        d.mkdir(parents=True, exist_ok=True)
    # PyPI: four tools sharing one library, as linters and formatters often share a core.
    make_wheel(wheelhouse, "benchcore", "1.0", {"benchcore.py": "VERSION = '1.0'\n"})
    for name in PYPI:
        code = f"import benchcore\n\ndef main():\n    print('{name}', benchcore.VERSION)\n"
        scripts = f"[console_scripts]\n{name} = {name}:main\n"
        make_wheel(wheelhouse, name, "1.0", {f"{name}.py": code}, scripts, ("benchcore>=1",))
    # npm: two one-bin packages, packed as a team vendors them.
    env = {**os.environ, "npm_config_cache": npm_cache, "npm_config_registry": "http://127.0.0.1:9/"}
    for name in NPM:
        src = wheelhouse.parent / "npm-src" / name
        src.mkdir(parents=True, exist_ok=True)
        manifest = {"name": name, "version": "1.0.0", "bin": {name: "cli.js"}, "license": "MIT"}
        (src / "package.json").write_text(json.dumps(manifest))
        (src / "cli.js").write_text(f"#!/usr/bin/env node\nconsole.log('{name}');\n")
        (src / "cli.js").chmod(0o755)
        subprocess.run(
            ["npm", "pack", "--pack-destination", str(root / "vendor"), str(src)],
            check=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
    # url: a release tarball with one binary in it.
    script = b"#!/bin/sh\necho urltool 1.0\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("urltool-1.0/bin/urltool")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    (dist / "urltool-1.0.tar.gz").write_bytes(buf.getvalue())
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    # path: the project's own scripts directory.
    (root / "tools" / "projtool").write_text("#!/bin/sh\necho projtool\n")
    (root / "tools" / "projtool").chmod(0o755)

    lines = ["[env]", *(f'{k} = "{v}"' for k, v in ENV.items()), "", "[path]", 'prepend = ["bin"]', "", "[packages]"]
    lines += [f'{name} = "pypi:{name}==1.0"' for name in PYPI]
    lines += [f'{name} = {{ npm = "./vendor/{name}-1.0.0.tgz" }}' for name in NPM]
    lines.append(f'urltool = {{ url = "{url}/urltool-1.0.tar.gz", sha256 = "{sha}", bin = ["*/bin/urltool"] }}')
    lines.append('projtool = { path = "./tools", bin = ["projtool"] }')
    (root / "envr.toml").write_text("\n".join(lines) + "\n")


def others(root: Path, base_path: str) -> None:
    delta = json.load(sys.stdin)
    base = set(base_path.split(":"))
    own = str(root / "bin")
    dirs = [e for e in delta["PATH"].split(":") if e not in base and e != own]
    if len(dirs) != len(PYPI) + len(NPM) + 2:
        sys.exit(f"realproject: expected {len(PYPI) + len(NPM) + 2} tool directories on PATH, got {dirs}")
    envrc = [*(f"export {k}={v}" for k, v in ENV.items()), *(f"PATH_add {d}" for d in reversed(dirs)), "PATH_add bin"]
    (root / ".envrc").write_text("\n".join(envrc) + "\n")
    mise = ["[env]", *(f'{k} = "{v}"' for k, v in ENV.items())]
    mise.append("_.path = [" + ", ".join(json.dumps(p) for p in ["{{config_root}}/bin", *dirs]) + "]")
    (root / "mise.toml").write_text("\n".join(mise) + "\n")
    print("\n".join(dirs))


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"] and len(argv) == 3:
        serve(argv[1], argv[2])
    elif argv[:1] == ["make"] and len(argv) == 6:
        make(Path(argv[1]), Path(argv[2]), Path(argv[3]), argv[4], argv[5])
    elif argv[:1] == ["others"] and len(argv) == 3:
        others(Path(argv[1]), argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
