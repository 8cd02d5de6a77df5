"""Processes started per step of a bench/prompt.* loop, read from strace.

usage: python bench/procs.py STRACE-FILE MODE SHELL TOOL PROJECT OUTSIDE WARMUP >> results.tsv
       python bench/procs.py steady SHELL TOOL STRACE-0 STRACE-N N >> results.tsv

STRACE-FILE is `strace -f -y -o FILE -e trace=execve,chdir,fchdir,clone,clone3,fork,vfork` of one shell process
running `prompt.* enter|inside N TOOL ...`. The shell's own cd is the marker: each chdir (fchdir for fish) by
the shell running the loop (the last process to exec a bench/prompt.* script) starts a step, named by where it
goes (enter: PROJECT, leave: OUTSIDE; inside: PROJECT/sub or PROJECT; anywhere else, such as the scripts'
final `cd /`, ends the last step), and every process created until the next one is that step's: a fork,
vfork or clone that is not a thread (posix_spawn is a clone too). The first WARMUP rounds are skipped, as the
timed loop skips them. Prints results.tsv lines: procs-STEP, shell, tool, processes, steps.

steady: two runs of `prompt.* steady` (0 and N timed prompts) under `strace -f -o FILE -e trace=execve,%stat,
%fstat,access,faccessat,faccessat2,clone,clone3,fork,vfork`; the difference over N is what one prompt costs: lines
procs-steady (processes) and stats-steady (stat and access calls by the shell), each with total and N.
"""

from __future__ import annotations

import re
import sys

LINE = re.compile(r"^(\d+)\s+(execve|chdir|fchdir|clone3?|v?fork)\((.*)$")
CHDIR_ARG = re.compile(r'^"((?:[^"\\]|\\.)*)"')
FCHDIR_ARG = re.compile(r"^\d+<(.*?)>[,)\s]")


def steps(path: str, mode: str, project: str, outside: str) -> list[tuple[str, int]]:
    """(step, processes created in it) in order."""
    names = {project: "enter", outside: "leave"} if mode == "enter" else {project + "/sub": "inside", project: "inside"}
    shell_pid = None
    out: list[tuple[str, int]] = []
    current: str | None = None
    count = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m is None:
                continue
            pid, call, rest = m.groups()
            if call == "execve":
                if "/prompt." in rest.split("]", 1)[0]:  # the loop's shell (for fish, the script's child)
                    shell_pid = pid
            elif call in ("chdir", "fchdir"):
                if pid != shell_pid:
                    continue
                a = (CHDIR_ARG if call == "chdir" else FCHDIR_ARG).match(rest)
                if a is None:
                    continue
                if current is not None:
                    out.append((current, count))
                current, count = names.get(a.group(1).rstrip("/") or "/"), 0
            elif current is not None and "CLONE_THREAD" not in rest:
                count += 1
    if current is not None:
        out.append((current, count))
    return out


def calls(path: str) -> tuple[int, int]:
    """(processes created by anyone, stat and access calls by the loop's shell itself) in a whole strace file:
    a core run shows as a process, and its own hundreds of stats do not blur the hook's."""
    procs = stats = 0
    shell = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^(\d+)\s+([a-z0-9_]+)\((.*)$", line)
            if m is None:
                continue
            pid, call, rest = m.groups()
            if call == "execve":
                if "/prompt." in rest.split("]", 1)[0]:
                    shell = pid
            elif call in ("clone", "clone3", "fork", "vfork"):
                procs += "CLONE_THREAD" not in rest
            elif pid == shell:
                stats += 1
    return procs, stats


def main(argv: list[str]) -> int:
    if argv[:1] == ["steady"]:
        _, shell, tool, zero, many, n = argv
        (p0, s0), (p1, s1) = calls(zero), calls(many)
        print(f"procs-steady\t{shell}\t{tool}\t{p1 - p0}\t{n}")
        print(f"stats-steady\t{shell}\t{tool}\t{s1 - s0}\t{n}")
        return 0
    path, mode, shell, tool, project, outside, warmup = argv
    seen: dict[str, list[int]] = {}
    for step, created in steps(path, mode, project.rstrip("/"), outside.rstrip("/")):
        if step is not None:
            seen.setdefault(step, []).append(created)
    skip = int(warmup) * (2 if mode == "inside" else 1)  # inside: two steps per round
    for step, counts in seen.items():
        timed = counts[skip:]
        print(f"procs-{step}\t{shell}\t{tool}\t{sum(timed)}\t{len(timed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
