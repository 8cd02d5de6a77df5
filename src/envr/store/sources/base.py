"""The interface every package source implements, and the parsed form of a [packages] entry.

Plain classes, not dataclasses, and typing only under TYPE_CHECKING: entering a project with packages loads
this module on the prompt's lean path, where dataclasses' import alone costs ~6 ms.
"""

from __future__ import annotations

import _thread
import os

from envr.errors import EnvrError, ProjectFileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, ClassVar, Protocol


class PackageSpec:
    """One [packages] entry, shorthand expanded ("pypi:ruff==0.6.9" -> {"pypi": "ruff==0.6.9"})."""

    __slots__ = (
        "_line",
        "_locate",
        "entry",
        "kind",
        "locked",
        "name",
        "platforms",
        "prefer",
        "project_file",
        "project_root",
        "uses",
    )

    def __init__(
        self,
        name: str,  # the key in [packages]
        kind: str,  # which source handles it: url | path | pypi | npm
        entry: Mapping[str, Any],  # the full table (minus `prefer`), validated by the source
        project_root: str,  # relative paths (path sources, inputs) resolve against this
        project_file: str,  # for error messages: file:line
        line: int | None = None,
        prefer: tuple[str, ...] = (),  # executables this entry wins when packages collide (see packages.py)
        locate: Callable[[], int | None] | None = None,  # finds `line` on first use, so only errors pay for it
    ) -> None:
        self.name = name
        self.kind = kind
        self.entry = entry
        self.project_root = project_root
        self.project_file = project_file
        self.prefer = prefer
        # This package's entry in envr.lock (set by packages.resolve when a lock is present): a source that
        # resolves (pypi, npm) then installs exactly what it lists instead of resolving again.
        self.locked: dict[str, Any] | None = None
        # The runtimes this entry builds on (Source.needs: "python" -> the [packages] entry providing it), set
        # by packages.validate; they are inputs of this package like `inputs = [...]`.
        self.uses: dict[str, PackageSpec] = {}
        self.platforms: tuple[str, ...] = ()  # the project's `platforms` (empty: this machine's only)
        self._line = line
        self._locate = locate

    @property
    def line(self) -> int | None:
        if self._line is None and self._locate is not None:
            self._line = self._locate()
            self._locate = None
        return self._line

    def error(self, message: str) -> ProjectFileError:
        """An error pointing at this entry in the project file."""
        return ProjectFileError(self.project_file, f"packages.{self.name}: {message}", self.line)

    def __repr__(self) -> str:
        return f"PackageSpec({self.name!r}, {self.kind!r}, {dict(self.entry)!r})"


class RealiseContext:
    """What a source may use while realising: where to log, how to report progress, resolved inputs."""

    def __init__(
        self,
        log_path: Path,
        inputs: Mapping[str, Path] | None = None,  # input package name -> its store path
        progress: Any = None,  # callable(done_bytes, total_bytes | None) or None
        environ: Mapping[str, str] | None = None,
        phase: Any = None,  # callable(name, phase | None, done, total) or None: envr.progress's reporter
        say: Any = None,  # callable(message) or None: envr.progress's reporter (or stderr)
    ) -> None:
        warm_up()  # the first thing every realisation does, in whichever worker thread runs it
        self.log_path = log_path
        self.inputs: Mapping[str, Path] = inputs if inputs is not None else {}
        self.progress = progress
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        self._phase = phase
        self._say = say

    def phase(self, name: str, phase: str | None, done: int | None = None, total: int | None = None) -> None:
        """What package name is doing now ("resolving", "downloading", ...; None: finished), for the live
        lines a terminal shows; bytes where known."""
        if self._phase is not None:
            self._phase(name, phase, done, total)
        else:
            from envr import progress

            progress.phase(name, phase, done, total)

    def warn(self, message: str) -> None:
        """One line for the user (e.g. a package that exposes no executable)."""
        if self._say is not None:
            self._say(message)
        else:
            from envr import progress

            progress.say(message)


class CliSpec:
    """A package as typed on the command line (`envr add pypi:ruff`, `shell -p`, `profile install`)."""

    __slots__ = ("entry", "kind", "name", "pin", "text")

    def __init__(
        self,
        text: str,
        kind: str,
        name: str,
        entry: str | dict[str, Any],
        pin: Callable[[str], str | dict[str, Any]] | None = None,
    ) -> None:
        self.text = text  # as typed
        self.kind = kind
        self.name = name  # the [packages] key it gets unless NAME= renames it
        self.entry = entry  # the envr.toml value: the "kind:rest" shorthand or a table
        self.pin = pin  # unpinned: version -> the entry pinned to it (what `envr add` writes once locked)

    @property
    def pinned(self) -> bool:
        return self.pin is None


# What Source.depends_on reports: ("env", NAME, value), ("tree", dir, signature), ("which", command, identity).
Dependency = tuple[str, str, object]

if TYPE_CHECKING:

    class Source(Protocol):
        """What a package source kind provides. Every member is required; sources that have nothing to do for
        one use the named defaults below (as pre-commit's languages do), so mypy checks each kind whole."""

        kind: ClassVar[str]
        shorthand: ClassVar[bool]  # entries may be written "kind:rest" (pypi:ruff==0.6.9)
        resolves: ClassVar[bool]  # locking asks a registry: `envr lock` keeps unchanged entries' resolution
        cli_form: ClassVar[str | None]  # how the command line writes one (pypi:REQUIREMENT); None: it does not
        provides: ClassVar[str | None]  # the runtime other entries can build on ("python", "node"), or None

        def needs(self, spec: PackageSpec) -> list[str]:
            """The runtimes (other kinds' `provides`) this entry builds on when the project pins one: the
            project's entry providing it becomes an input (its store path is in this recipe, a registry reference,
            and ctx.inputs in realise; spec.uses maps the runtime to that entry)."""

        def claims(self, name: str, entry: Mapping[str, Any]) -> bool:
            """Whether a table naming no kind key (`node = { version-file = ".nvmrc" }`) is this kind's."""

        def validate(self, spec: PackageSpec) -> None:
            """Raise ProjectFileError (file:line, key) for anything wrong in the entry, without I/O."""

        def version(self, spec: PackageSpec) -> str:
            """The version part of the store path name (e.g. '0.6.9'; 'local' or a short hash if none)."""

        def recipe(self, spec: PackageSpec) -> dict[str, Any]:
            """Canonical, JSON-serialisable description of exactly what is built; the store hashes it (plus the
            platform) into the store path. Must not contain the URL for fixed-output url entries.
            Cheap and offline: it names the store path."""

        def builds_in_place(self, spec: PackageSpec) -> bool:
            """True when the output embeds its own path ($out in a build script): the store then realises
            directly at the final store path, under its flock, instead of in a temp dir renamed into place."""

        def realise(self, spec: PackageSpec, out: Path, ctx: RealiseContext) -> None:
            """Fetch/build into out (an empty directory on the store's filesystem). Raise EnvrError on failure."""

        def bins(self, spec: PackageSpec, out: Path) -> list[str]:
            """Paths, relative to out, of the executables to expose on PATH."""

        def lock(self, spec: PackageSpec, environ: Mapping[str, str]) -> dict[str, Any]:
            """The exact resolution envr.lock records for the entry (network allowed for resolving kinds)."""

        def depends_on(self, spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
            """What the recipe reads besides the entry and its locked resolution, as cheap checks the prompt can
            repeat without importing this module: ("env", NAME, value or None), ("tree", dir, stat signature
            from fsutil.tree_signature), ("which", command, fsutil.which_identity). Cheap: no process."""

        def check_locked(self, spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
            """Why the lock's entry no longer matches what envr.toml points at (None: it matches), offline."""

        def parse_cli(self, text: str, rest: str, cwd: str) -> CliSpec:
            """`KIND:REST` as typed on the command line; raise EnvrError with the accepted forms."""


# Defaults a source assigns for the members it has nothing to do for.


def depends_on_nothing(spec: PackageSpec, environ: Mapping[str, str]) -> list[Dependency]:
    return []


def needs_nothing(spec: PackageSpec) -> list[str]:
    return []


def claims_nothing(name: str, entry: Mapping[str, Any]) -> bool:
    return False


def never_in_place(spec: PackageSpec) -> bool:
    return False


def always_matches(spec: PackageSpec, locked: Mapping[str, Any]) -> str | None:
    return None


def no_cli(kind: str, forms: str) -> Callable[[str, str, str], CliSpec]:
    """parse_cli for a kind that is only ever written in envr.toml."""

    def parse_cli(text: str, rest: str, cwd: str) -> CliSpec:
        from envr.errors import EnvrError

        raise EnvrError(f"{text!r}: {kind} packages are written in envr.toml ({forms}), not on the command line")

    return parse_cli


# --- once-only initialisation, timeouts, and stopping everything on Ctrl-C ---------------------------------

_lock = _thread.allocate_lock()  # a builtin module loaded at start-up: no threading import on the prompt's path
_warm = False
_interrupted = False
_children: set[Any] = set()  # running tool processes (subprocess.Popen), each the leader of its own group


def warm_up() -> None:
    """Initialise, once and under a lock, the stdlib state that is filled in lazily and is not thread-safe,
    before realisations start using it from worker threads. On CPython 3.11 in a cold interpreter
    (the prompt's `python -I`), sysconfig's first get_config_vars() publishes a half-filled dict that other
    threads then read: uv.find_uv_bin() got None for EXE ("can only concatenate str (not NoneType)").
    (platform, mimetypes, urllib's opener and tempfile are idempotent or lock themselves; the sources keep
    their own caches, such as pypi's uv path and the download's ssl context, behind this lock too.)"""
    global _warm
    if _warm:
        return
    with _lock:
        if not _warm:
            import sysconfig

            sysconfig.get_config_vars()
            _warm = True


def once(make: Callable[[], Any], box: list[Any]) -> Any:
    """box[0], made by make() the first time under the module lock (box: a one-element list, [None] empty).
    make() runs after warm_up() and must not call once() itself (the lock is not reentrant)."""
    warm_up()
    if box[0] is None:
        with _lock:
            if box[0] is None:
                box[0] = make()
    return box[0]


class Interrupted(EnvrError):
    """Ctrl-C reached the main thread: work in other threads stops at its next check."""

    exit_code = 130


def _seconds(environ: Mapping[str, str], var: str, default: float) -> float:
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise EnvrError(f"{var} must be a positive number of seconds (default {default:g}), not {raw!r}")
    return value


def http_timeout(environ: Mapping[str, str]) -> float:
    """ENVR_HTTP_TIMEOUT (default 30 s): the longest wait for a connection, or for the next byte of a response
    (envr's downloads also take less than 1 KiB in that long as stalled)."""
    return _seconds(environ, "ENVR_HTTP_TIMEOUT", 30.0)


def http_deadline(environ: Mapping[str, str]) -> float:
    """ENVR_HTTP_DEADLINE (default 600 s): the longest one download may take, retries included."""
    return _seconds(environ, "ENVR_HTTP_DEADLINE", 600.0)


def interrupted() -> bool:
    return _interrupted


def check_interrupted(what: str) -> None:
    if _interrupted:
        raise Interrupted(f"{what}: interrupted")


def interrupt() -> None:
    """Stop every realisation: downloads notice within a fraction of a second, tools are killed (their whole
    process group)."""
    global _interrupted
    _interrupted = True
    with _lock:
        running = list(_children)
    for proc in running:
        _kill_group(proc)


def map_interruptible(pool: Any, fn: Callable[[Any], Any], items: Any) -> list[Any]:
    """list(pool.map(fn, items)), except that Ctrl-C (or any exception) in the calling thread stops the
    workers (see interrupt) and waits for them, queued items never starting, before it propagates."""
    global _interrupted
    _interrupted = False
    try:
        return list(pool.map(fn, items))
    except BaseException:
        interrupt()
        pool.shutdown(wait=True, cancel_futures=True)
        raise


def sleep(seconds: float) -> None:
    """time.sleep that ends early (silently) once interrupted."""
    import time

    end = time.monotonic() + seconds
    while not _interrupted and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))


# --- running tools (uv, npm) ---------------------------------------------------------------------------------

# Linux: tools run under this tiny supervisor, the leader of their own process group. It asks the kernel for
# SIGTERM when envr dies (PR_SET_PDEATHSIG survives nothing else: not even `kill -9` of envr leaves the tool
# running), and on that signal kills its whole group (the tool's own children included).
_SUPERVISOR = """
import os, signal, sys
def stop(*_):
    os.killpg(0, signal.SIGKILL)
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, stop)
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    stop()
pid = os.fork()
if pid == 0:
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, signal.SIG_DFL)
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    except OSError as e:
        os.write(2, f"{sys.argv[2]}: {e.strerror}\\n".encode())
    os._exit(127)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(code if code >= 0 else 128 - code)
"""


def _kill_group(proc: Any) -> None:
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_logged(
    argv: list[str],
    cwd: Path | str,
    env: Mapping[str, str],
    log_path: Path | None,
    on_line: Callable[[str], None] | None = None,
    input_text: str | None = None,
    stdout_apart: bool = False,
) -> tuple[int, str]:
    """Run a tool's step, appending the command and everything it printed to log_path (if given), line by
    line as it prints (each line also goes to on_line, for the live progress lines).

    Returns (exit status, its output) so the source can pick the one line worth showing; with stdout_apart,
    output is its stdout alone (stderr is still logged and streamed). The tool runs in its own process group,
    which is killed when it ends, on any exception here (KeyboardInterrupt included), on interrupt() from the
    main thread, and (Linux) when envr itself dies. OSError (the tool itself is missing) propagates for the
    source to name the fix.
    """
    import shutil
    import subprocess
    import sys
    import tempfile

    exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=env.get("PATH", os.defpath))
    if exe is None or not os.access(exe, os.X_OK) or os.path.isdir(exe):
        raise FileNotFoundError(2, "No such file or directory (or not executable)", argv[0])
    full = [exe, *argv[1:]]
    if sys.platform.startswith("linux") and sys.executable:
        full = [sys.executable, "-I", "-S", "-c", _SUPERVISOR, str(os.getpid()), *full]
    import contextlib

    with contextlib.ExitStack() as stack:
        log = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(open(log_path, "a", encoding="utf-8", errors="replace"))
            log.write(f"$ {' '.join(argv)}\n")
            log.flush()
        out_file = stack.enter_context(tempfile.TemporaryFile()) if stdout_apart else None
        check_interrupted(os.path.basename(argv[0]))
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=out_file if out_file is not None else subprocess.PIPE,
            stderr=subprocess.PIPE if out_file is not None else subprocess.STDOUT,
            text=True,
            errors="replace",
            process_group=0,
        )
        with _lock:
            _children.add(proc)
        lines: list[str] = []
        try:
            if _interrupted:  # interrupt() ran between the check and the registration
                _kill_group(proc)
            if input_text is not None:
                assert proc.stdin is not None
                with proc.stdin:
                    proc.stdin.write(input_text)
            stream = proc.stderr if out_file is not None else proc.stdout
            assert stream is not None
            for line in stream:
                lines.append(line)
                if log is not None:
                    log.write(line)
                    log.flush()
                if on_line is not None:
                    on_line(line.rstrip("\n"))
            if hasattr(os, "waitid"):  # exited but not reaped: its group id cannot be reused yet
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        finally:
            _kill_group(proc)  # stragglers of a finished tool, or everything on an exception
            proc.wait()
            with _lock:
                _children.discard(proc)
        check_interrupted(os.path.basename(argv[0]))
        output = "".join(lines)
        if out_file is not None:
            out_file.seek(0)
            output = out_file.read().decode("utf-8", "replace")
            if log is not None:
                log.write(output)
        return proc.returncode, output
