"""The project files that make up what $PWD wants, outermost first, each read once and trusted on its own.

A project file with `inherit = true` applies on top of the nearest project above it (which may inherit in
turn): its [env] overrides the parent's, its [path] entries come before the parent's, its packages come first.
Each file is approved on its own content. A blocked child leaves its parents loaded; a blocked parent blocks
every child that inherits it (a child's environment is built on its parent's).

Per layer, besides envr.toml: the dotenv files it lists (data read at each load, watched like the project file;
names that load code refused unless allowed by name, see project.dotenv) and the commands of its secrets (run
only for an approved file, at load, with a timeout; their output is the value).
"""

from __future__ import annotations

import os

from envr.errors import EnvrError
from envr.fsutil import read_regular, sha256
from envr.project.file import FILENAME, LOCKNAME, Project, find_project_file, read_project_file
from envr.trust import approvals as trust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from envr.prompt.watched import Watched

MAX_DEPTH = 32


class Layer:
    """One project file of the chain and what loading it needs and found."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.root = os.path.dirname(file)
        self.content = b""
        self.lock: bytes | None = None
        self.digest = ""  # the approval's hash (envr.toml + envr.lock)
        self.ident = ""  # the digest plus the dotenv files' bytes: a layer with the same ident is unchanged
        self.verdict: trust.Verdict | None = None
        self.project: Project | None = None
        self.parsed = False  # parsed now (not from the cache): prompt.commit remembers it
        self.dotenv: dict[str, str] = {}  # NAME -> value from its dotenv files, in order
        self.dotenv_files: list[tuple[str, bytes, tuple[str, ...]]] = []  # (path, bytes, names it may set)
        self.dotenv_raw = b""
        self.reads: set[str] = set()  # environment names its dotenv files expanded
        self.secrets: dict[str, str] = {}  # NAME -> what its command printed
        self.problems: list[str] = []  # said, but the layer still loads
        self.bins: list[str] = []
        self.store_paths: list[str] = []
        self.missing: list[str] = []
        self.missing_paths: list[str] = []
        self.missing_named: dict[str, str] = {}  # missing name -> its store path, where its recipe was made
        self.failed: list[str] = []
        self.view_fill: tuple[str, object] | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict is not None and self.verdict.allowed


def read(file: str, watched: Watched) -> Layer:
    """Read one project file and its lock once, hash those bytes, check the approval, parse if approved."""
    layer = Layer(file)
    watched.expect(file)
    watched.expect(os.path.join(layer.root, LOCKNAME))
    layer.content = read_project_file(file)
    layer.lock = trust.read_lock(file)
    layer.digest = trust.digest(layer.content, layer.lock)
    layer.verdict = trust.check(file, layer.digest)
    watched.expect(layer.verdict.approval_file)
    if layer.verdict.allowed:
        from envr.project.load import lookup, parse

        project = lookup(file, layer.content, layer.digest)
        if project is None:
            project, layer.parsed = parse(file, layer.content), True
        layer.project = project
    return layer


def chain(nearest: str, watched: Watched) -> list[Layer]:
    """The nearest project file and those it inherits, outermost first."""
    layers = [read(nearest, watched)]
    while _inherits(layers[0]):
        parent = find_project_file(os.path.dirname(layers[0].root))
        if parent is None or parent == layers[0].file:
            break
        if len(layers) >= MAX_DEPTH:
            raise EnvrError(f"{nearest}: more than {MAX_DEPTH} project files inherit one another")
        layers.insert(0, read(parent, watched))
    return layers


def _inherits(layer: Layer) -> bool:
    """Whether the file inherits; for a file not approved, what its text says (it is data, read as data)."""
    if layer.project is not None:
        return layer.project.inherit
    import tomllib

    try:
        return tomllib.loads(layer.content.decode("utf-8")).get("inherit") is True
    except (ValueError, RecursionError):
        return False


def read_dotenv(layer: Layer, watched: Watched) -> None:
    """Read the layer's dotenv files once (they are watched: an edit reloads at the next prompt)."""
    project = layer.project
    assert project is not None
    for name, optional, allowed in project.dotenv:
        path = os.path.normpath(os.path.join(layer.root, name))
        watched.expect(path)
        shown = f"{layer.root}/{name}"
        try:
            real = os.path.realpath(path)
            inside = os.path.realpath(layer.root)
            if not (real == inside or real.startswith(inside + os.sep)):
                raise OSError(0, "leads outside the project")
            data = read_regular(path)
        except FileNotFoundError:
            if not optional:
                layer.problems.append(f"{shown} is missing (create it, or mark it optional = true in {FILENAME})")
            continue
        except OSError as e:
            layer.problems.append(f"{shown}: {e.strerror or e}; not loaded")
            continue
        layer.dotenv_files.append((path, data, allowed))
    layer.dotenv_raw = b"\0".join(data for _, data, _ in layer.dotenv_files)


def parse_dotenv(layer: Layer, scope: dict[str, str]) -> None:
    """The dotenv files' values, in order, into layer.dotenv (scope: what ${NAME} sees; updated)."""
    from envr.project import dotenv

    for path, data, allowed in layer.dotenv_files:
        try:
            pairs = dotenv.parse(path, data.decode("utf-8", "surrogateescape"), scope, layer.reads)
        except EnvrError as e:
            layer.problems.append(f"{e}; not loaded")
            continue
        for key, value in pairs:
            why = dotenv.refused(key, allowed)
            if why is not None:
                layer.problems.append(f"{path}: {key} refused ({why})")
                scope.pop(key, None)
                continue
            layer.dotenv[key] = value


def identity(layer: Layer, extra: str = "") -> str:
    """What must be unchanged for a loaded layer to stay as it is: its approval's hash and its dotenv data."""
    return sha256(layer.digest.encode() + b"\0" + layer.dotenv_raw + extra.encode()).hexdigest()[:32]


def run_secrets(layer: Layer, scope: Mapping[str, str], reuse: Mapping[str, str]) -> None:
    """Run the layer's secret commands (reuse: values this shell already has from the same file content)."""
    project = layer.project
    assert project is not None
    for name, (argv, timeout) in project.commands.items():
        if name in reuse:
            layer.secrets[name] = reuse[name]
            continue
        value, why = _run(argv, timeout, layer.root, scope)
        if why is not None:
            layer.problems.append(f"env.{name}: {' '.join(argv)} {why}; {name} not set")
        elif value is not None:
            layer.secrets[name] = value


def _run(argv: list[str], timeout: float, cwd: str, scope: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Run a secret's command in its own session, so a timeout kills everything it started."""
    import signal
    import subprocess

    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(scope),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as e:
        return None, f"cannot run: {e.strerror or e}"
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, f"took longer than {timeout:g}s"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        said = stderr.decode("utf-8", "replace").strip().splitlines()
        return None, f"failed (exit {proc.returncode})" + (f": {said[-1][:200]}" if said else "")
    out = stdout.decode("utf-8", "surrogateescape")
    out = out[:-1] if out.endswith("\n") else out
    if "\0" in out:
        return None, "printed a NUL character, which no environment can hold"
    return out, None
