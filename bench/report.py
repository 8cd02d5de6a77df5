"""bench/run's report: the measurements it collected, as one markdown page with ratios and a verdict per target.

usage: python bench/report.py RESULTS.tsv META.tsv IMPORTTIME-DIR STRACE-DIR HYPERFINE.json... > report.md
RESULTS.tsv lines are: project:what (steady, inside, enter, leave, cycle, procs-inside, procs-enter, procs-leave),
shell, tool, total (microseconds, or processes for procs-*), count. IMPORTTIME-DIR holds `python -X importtime`
stderr: startup.txt (the bare interpreter), [real-]warm-N.txt and [real-]cold-N.txt (the core). STRACE-DIR holds
core-{plain,real}-{warm,cold}.txt, `strace -f` of the core (file, process and read syscalls).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections import defaultdict
from typing import TypedDict

TOOLS = ("none", "envr", "direnv", "mise")
SHELLS = ("bash", "zsh", "fish")
STEADY_TARGET = 1 / 20  # envr's steady-state prompt at most 1/20 of direnv's (aim: 1/50)
STEADY_AIM = 1 / 50
ENTER_TARGET = 1.0  # the plain project's full load, and any load with the cache wiped, no slower than direnv
PACKAGES_TARGET = 1.1  # the real project's full load at most 1.1x the plain project's
CYCLE_TARGET = 1 / 10  # moonshot: the enter+leave cycle of a project loaded before, 1/10 of direnv's, below mise's

Key = tuple[str, str, str]


def load_results(path: str) -> tuple[dict[Key, list[float]], dict[Key, str]]:
    """(project:what, shell, tool) -> per step values, one per shell process; and what a failed process said."""
    out: dict[Key, list[float]] = defaultdict(list)
    failed: dict[Key, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            what, shell, tool, total, count = line.rstrip("\n").split("\t", 4)
            if total == "FAIL":
                failed.setdefault((what, shell, tool), count.strip())
            elif int(count) > 0:
                out[(what, shell, tool)].append(int(total) / int(count))
    return out, failed


def load_meta(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)


def fmt_us(us: float | None) -> str:
    if us is None:
        return "-"
    if us >= 1000:
        return f"{us / 1000:,.2f} ms"
    return f"{us:,.1f} µs"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    if ratio < 0.01:
        return f"{ratio:.4f} (1/{1 / ratio:,.0f})"
    if ratio < 1:
        return f"{ratio:.3f} (1/{1 / ratio:,.1f})"
    return f"{ratio:.2f}"


def fmt_count(n: float | None) -> str:
    if n is None:
        return "-"
    return str(int(n)) if n == int(n) else f"{n:.1f}"


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else "**PASS**" if ok else "**FAIL**"


def ratio_of(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


class Report:
    def __init__(
        self,
        results: dict[Key, list[float]],
        failed: dict[Key, str],
        hf: dict[str, list[float]],
        hf_cpu: dict[str, list[tuple[float, int]]],
    ) -> None:
        self.results, self.failed, self.hf, self.hf_cpu = results, failed, hf, hf_cpu
        self.footnotes: list[str] = []
        self.tools = [t for t in TOOLS if t != "mise" or any(k[2] == "mise" for k in [*results, *failed])]

    def value(self, what: str, shell: str, tool: str) -> float | None:
        runs = self.results.get((what, shell, tool))
        return statistics.median(runs) if runs and (what, shell, tool) not in self.failed else None

    def procs(self, what: str, shell: str, tool: str) -> float | None:
        """Processes per step (procs-* lines are pooled: one strace run per shell and tool)."""
        runs = self.results.get((what, shell, tool))
        return statistics.mean(runs) if runs else None

    def cell(self, what: str, shell: str, tool: str) -> str:
        why = self.failed.get((what, shell, tool))
        if why is None:
            return fmt_us(self.value(what, shell, tool))
        note = f"{tool} failed ({what}, {shell}): {why}"
        if note not in self.footnotes:
            self.footnotes.append(note)
        return f"FAILED[^{self.footnotes.index(note) + 1}]"

    def hf_median(self, name: str) -> float | None:
        times = self.hf.get(name)
        return statistics.median(times) * 1e6 if times else None

    def hf_cpu_mean(self, name: str) -> float | None:
        """user + system seconds per run (hyperfine gives a mean per command and round), rounds pooled."""
        rounds = self.hf_cpu.get(name)
        if not rounds:
            return None
        return sum(cpu * n for cpu, n in rounds) / sum(n for _, n in rounds)

    def hf_cell(self, name: str) -> str:
        times = self.hf.get(name)
        if not times:
            return "-"
        median = statistics.median(times)
        cpu = self.hf_cpu_mean(name) or 0.0
        return f"{median * 1000:.1f} ms (min {min(times) * 1000:.1f}, cpu {cpu * 1000:.1f})"

    def hf_ratio(self, a: str, b: str) -> tuple[float | None, str]:
        """Ratio of the wall-clock medians (the verdict's), and the text: with the ratio of the CPU times
        (user + system) beside it, which waiting for a busy CPU does not inflate."""
        r = ratio_of(self.hf_median(a), self.hf_median(b))
        r_cpu = ratio_of(self.hf_cpu_mean(a), self.hf_cpu_mean(b))
        text = fmt_ratio(r) + (f" (cpu {r_cpu:.2f})" if r_cpu is not None else "")
        return r, text


def main(argv: list[str]) -> int:
    results_path, meta_path, importtime_dir, strace_dir, *hyperfine_paths = argv
    results, failed = load_results(results_path)
    meta = load_meta(meta_path)
    hf: dict[str, list[float]] = defaultdict(list)  # command name -> seconds, every round's runs pooled
    hf_cpu: dict[str, list[tuple[float, int]]] = defaultdict(list)  # command name -> (cpu seconds, runs) per round
    for path in hyperfine_paths:
        with open(path, encoding="utf-8") as f:
            for r in json.load(f)["results"]:
                hf[r["command"]].extend(r["times"])
                hf_cpu[r["command"]].append((r["user"] + r["system"], len(r["times"])))
    rep = Report(results, failed, hf, hf_cpu)
    tools = rep.tools
    have_mise = "mise" in tools
    labels = {"none": "no hook", "envr": "envr", "direnv": "direnv", "mise": "mise"}
    core = {
        f"{p}-{t}": syscalls(os.path.join(strace_dir, f"core-{p}-{t}.txt"), meta)
        for p in ("plain", "real")
        for t in ("warm", "cold")
    }

    header = [
        "measurement",
        *(labels[t] for t in tools),
        "processes (envr / direnv / mise)",
        "ratio",
        "target",
        "result",
    ]
    rows: list[list[str]] = []

    def procs_cell(*whats: str, shell: str) -> str:
        per = []
        for tool in ("envr", "direnv", "mise")[: 3 if have_mise else 2]:
            counts = [rep.procs(w, shell, tool) for w in whats]
            per.append(fmt_count(None if None in counts else sum(c for c in counts if c is not None)))
        return " / ".join(per) + " per step"

    # --- steady state
    for project, words in (("plain", "plain project"), ("real", "real project")):
        for shell in SHELLS:
            what = f"{project}:steady"
            r = ratio_of(rep.value(what, shell, "envr"), rep.value(what, shell, "direnv"))
            ok = None if r is None else r <= STEADY_TARGET
            stats = rep.procs(f"{project}:stats-steady", shell, "envr")
            procs = f"envr: {fmt_count(rep.procs(f'{project}:procs-steady', shell, 'envr'))} per prompt"
            rows.append(
                [
                    f"prompt, steady state, {words}, {shell} (per prompt)",
                    *(rep.cell(what, shell, t) for t in tools),
                    procs + (f", {fmt_count(stats)} stat calls" if stats is not None else ""),
                    fmt_ratio(r) + " of direnv",
                    "≤ 1/20 (aim 1/50)",
                    verdict(ok) + (" (aim met)" if r is not None and r <= STEADY_AIM else ""),
                ]
            )

    # --- the core's full load, hyperfine
    def core_procs(case: str) -> str:
        c = core.get(case)
        return (
            "-"
            if c is None
            else f"{len(c['started'])} started by envr's core"
            + (f" ({', '.join(sorted(set(c['started'])))})" if c["started"] else "")
        )

    r, text = rep.hf_ratio("envr", "direnv")
    rows.append(
        [
            "full load, plain project: each hook's command from outside, in the root (hyperfine)",
            *("-" if t == "none" else rep.hf_cell(t) for t in tools),
            core_procs("plain-warm"),
            text + " of direnv",
            "≤ 1",
            verdict(None if r is None else r <= ENTER_TARGET),
        ]
    )
    r, text = rep.hf_ratio("envr-real", "envr")
    r_d, _ = rep.hf_ratio("envr-real", "direnv-real")
    rows.append(
        [
            "full load, real project (4 PyPI, 2 npm, 1 url, 1 path; realised)",
            *("-" if t == "none" else rep.hf_cell(f"{t}-real") for t in tools),
            core_procs("real-warm"),
            f"{text} of envr's plain load; {fmt_ratio(r_d)} of direnv",
            "≤ 1.1x plain",
            verdict(None if r is None else r <= PACKAGES_TARGET),
        ]
    )
    for name, project, words in (("envr-cold", "", "plain"), ("envr-real-cold", "-real", "real")):
        r, text = rep.hf_ratio(name, f"direnv{project}")
        rows.append(
            [
                f"full load, {words} project, envr's cache wiped before each run (`rm -rf ~/.cache/envr`)",
                *("-" if t == "none" else rep.hf_cell(name) if t == "envr" else "as above" for t in tools),
                core_procs(f"{words}-cold"),
                text + " of direnv",
                "≤ 1",
                verdict(None if r is None else r <= ENTER_TARGET),
            ]
        )

    # --- moving in the real project
    steps = (
        ("inside", "`cd sub` + prompt and `cd ..` back, within the real project (per cd)", ("procs-inside",)),
        ("leave", "leave: `cd ..` + prompt to a directory in no project", ("procs-leave",)),
        ("cycle", "enter + leave cycle, the project loaded before in this shell", ("procs-enter", "procs-leave")),
    )
    for what, words, proc_whats in steps:
        for shell in SHELLS:
            key = f"real:{what}"
            envr, direnv = rep.value(key, shell, "envr"), rep.value(key, shell, "direnv")
            mise = rep.value(key, shell, "mise") if have_mise else None
            counts = [rep.procs(f"real:{w}", shell, "envr") for w in proc_whats]
            no_process = None if None in counts else sum(c for c in counts if c is not None) == 0
            r = ratio_of(envr, direnv)
            if what == "cycle":
                target = "≤ 1/10 of direnv, < mise; no process"
                fast = None if r is None else r <= CYCLE_TARGET and (mise is None or (envr or 0) < mise)
                ok = None if fast is None or no_process is None else fast and no_process
            else:
                target, ok = "no process", no_process
            rows.append(
                [
                    f"{words}, {shell}",
                    *(rep.cell(key, shell, t) for t in tools),
                    procs_cell(*(f"real:{w}" for w in proc_whats), shell=shell),
                    fmt_ratio(r) + " of direnv",
                    target,
                    verdict(ok),
                ]
            )

    out = [
        "# envr vs direnv" + (" vs mise" if have_mise else "") + ": prompt-hook cost",
        "",
        f"- date: {meta.get('date', '?')}",
        f"- machine: {meta.get('arch', '?')}, {meta.get('cpu', '?')}, {meta.get('kernel', '?')}",
        f"- envr: {meta.get('envr', '?')}; {meta.get('python', '?')}; .pth files in its site-packages: "
        f"{meta.get('pth') or 'none'}",
        f"- direnv: {meta.get('direnv', '?')}",
        f"- mise: {meta.get('mise', '?') if have_mise else meta.get('mise_note', 'skipped')}",
        f"- shells: {meta.get('bash', '?')}; {meta.get('zsh', '?')}; {meta.get('fish', '?')}; node {meta.get('node')}",
        f"- real project: {meta.get('real', '?')}",
        f"- {meta.get('hyperfine', 'hyperfine ?')}; iterations: {meta.get('iterations', '?')}",
        f"- command: `{meta.get('command', 'bench/run')}` ({meta.get('seconds', '?')} s); "
        f"load average {meta.get('load', '?')}",
        "",
        table(header, rows),
        "",
        "## Where envr's enter time goes",
        "",
        "Wall clock, hyperfine in the same run (medians), each step adding to the one before:",
        "",
        f"1. envr's interpreter, no site (`python -I -S -c pass`): {rep.hf_cell('python-nosite')}",
        f"2. plus site and the venv's .pth files (`python -I -c pass`): {rep.hf_cell('python-bare')}",
        f"3. plus importing what the core imports (`import envr.prompt.entry, envr.prompt.core`): "
        f"{rep.hf_cell('envr-imports')}",
        f"4. plus the work, plain project, cache warm (the full core, as above): {rep.hf_cell('envr')}",
        f"5. the same in the real project: {rep.hf_cell('envr-real')}",
        f"6. the full core with envr's cache wiped, plain / real project: {rep.hf_cell('envr-cold')} / "
        f"{rep.hf_cell('envr-real-cold')}",
        "",
    ]
    for case, words in (
        ("plain-warm", "plain, cache warm"),
        ("real-warm", "real project, cache warm"),
        ("plain-cold", "plain, cache wiped"),
        ("real-cold", "real project, cache wiped"),
    ):
        c = core.get(case)
        if c is not None:
            by_kind = ", ".join(f"{n} {k}" for k, n in sorted(c["stats"].items(), key=lambda kv: -kv[1]))
            started = f"; processes started: {', '.join(c['started'])}" if c["started"] else "; no process started"
            out.append(
                f"- strace of the core ({words}): {c['total']} file/process/read syscalls; "
                f"{sum(c['stats'].values())} stat calls ({by_kind}); {c['openat']} opens, {c['read']} reads, "
                f"{c['getdents64']} directory reads{started}"
            )
    out.append("")
    for prefix, words in (("", "plain project"), ("real-", "real project")):
        for temp, temp_words in (("warm", "cache warm"), ("cold", "cache wiped")):
            lines = import_breakdown(importtime_dir, prefix + temp)
            if lines:
                out.append(
                    f"`python -X importtime` of the core ({words}, {temp_words}), imports beyond the "
                    f"interpreter's start: {lines[0]}"
                )
                out.append("")
                out += [f"- {line}" for line in lines[1:9]]
                out.append("")
    out += [
        "(importtime's own numbers, inflated by its bookkeeping; an import is charged to whichever module "
        "imports it first.)",
        "",
        "Steady state: one shell process per tool, in the project's src/app, the hook installed as a user does "
        '(`eval "$(envr hook bash)"`, `direnv hook`, `mise activate`), the project loaded by the first prompts, '
        "then N prompts timed in a loop with the shell's clock (bash/zsh $EPOCHREALTIME, fish `date` around the "
        "loop); a prompt is every PROMPT_COMMAND entry (bash), every precmd function (zsh), `emit fish_prompt` "
        "(fish). 'no hook' is the same loop with nothing installed; ratios are of the raw per-step times "
        "(loop overhead included, which only counts against envr). Full load: hyperfine -N runs each core in "
        "the project's root with the environment of a shell outside it (a full load each time), rounds "
        "alternating the two projects. cd rows: a real `cd` and the prompt after it in one shell (bash/zsh "
        "$EPOCHREALTIME, fish a `time` block), after three untimed rounds, each step checked to have loaded or "
        "unloaded the project; processes: the same loops under `strace -f`, each step's forks and clones that "
        "are not threads. Values are medians over shell processes or over hyperfine's runs, rounds pooled.",
    ]
    if rep.footnotes:
        out += ["", *(f"[^{i}]: {note}" for i, note in enumerate(rep.footnotes, 1))]
    print("\n".join(out))
    return 0


STRACE_LINE = re.compile(r'^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)[( ](?:(?:[A-Z_]+|\d+), )?"?([^",)]*)')
STATS = ("newfstatat", "statx", "stat", "lstat", "fstat", "access", "faccessat", "faccessat2", "readlink")


class CoreCalls(TypedDict):
    total: int
    stats: dict[str, int]
    openat: int
    read: int
    getdents64: int
    started: list[str]


def syscalls(path: str, meta: dict[str, str]) -> CoreCalls | None:
    """What the core did, from `strace -f -o`: stat calls by what they look at, opens, reads, processes."""
    if not os.path.exists(path):
        return None
    home = meta.get("home", "\0")
    kinds = {
        "envr's cache": os.path.join(home, ".cache", "envr"),
        "the store": os.path.join(home, ".local", "share", "envr"),
        "the projects": os.path.join(home, "work"),
    }
    stats: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    started: list[str] = []
    execs = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = STRACE_LINE.match(line)
            if m is None or "resumed>" in line:
                continue
            call, arg = m.group(2), m.group(3)
            counts["total"] += 1
            if call == "execve":
                execs += 1
                if execs > 2:  # bash -c "exec CORE", then the core; anything after is a process the core started
                    started.append(os.path.basename(arg))
            elif call in STATS:
                stats[stat_kind(arg, kinds)] += 1
            elif call in ("openat", "read", "getdents64"):
                counts[call] += 1
    return {
        "total": counts["total"],
        "stats": dict(stats),
        "openat": counts["openat"],
        "read": counts["read"],
        "getdents64": counts["getdents64"],
        "started": started,
    }


def stat_kind(arg: str, kinds: dict[str, str]) -> str:
    if not arg:
        return "of open files"
    for kind, prefix in kinds.items():
        if arg == prefix or arg.startswith(prefix + "/"):
            return "in " + kind
    if re.search(r"python3|site-packages|\.pyc?$|__pycache__|/envr(/|$)|\.so$", arg):
        return "by imports"
    return "elsewhere (PATH lookups, /etc, ...)"


IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


def read_importtime(path: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, depth) in the order python printed them (children before parents)."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = IMPORT_LINE.match(line)
            if m:
                rows.append((m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2))
    return rows


def import_breakdown(directory: str, temp: str) -> list[str]:
    """The core's imports beyond the interpreter's own start: what envr itself imports, outermost first."""
    startup = {name for name, *_ in read_importtime(os.path.join(directory, "startup.txt"))}
    runs = []
    i = 1
    while os.path.exists(path := os.path.join(directory, f"{temp}-{i}.txt")):
        runs.append(read_importtime(path))
        i += 1
    if not runs:
        return []
    # Per run: each import made directly by an envr module or by the hook's boot line, charged with its
    # cumulative time, and envr's own modules with their self time.
    charged: dict[str, list[float]] = defaultdict(list)
    by: dict[str, str] = {}
    totals: list[float] = []
    for rows in runs:
        total = 0.0
        for idx, (name, self_us, cum_us, depth) in enumerate(rows):
            if name in startup:
                continue
            parent = next((r[0] for r in rows[idx + 1 :] if r[3] < depth), None)
            if parent is None:  # imported at top level: by the hook's boot line, or inside a function
                parent = "the boot line" if name == "envr.prompt.entry" else "a function, at run time"
            if name.startswith("envr"):
                charged[name + " (own code)"].append(self_us)
                by[name + " (own code)"] = parent
                total += self_us
            elif depth == 0 or parent.startswith("envr"):
                charged[name].append(cum_us)
                by[name] = parent
                total += cum_us
        totals.append(total)
    ranked = sorted(((statistics.median(v), k) for k, v in charged.items()), reverse=True)
    lines = [f"total {statistics.median(totals) / 1000:.1f} ms over {len(runs)} runs (median per import)"]
    for us, name in ranked:
        if us < 100:
            break
        lines.append(f"{name} {us / 1000:.2f} ms (imported by {by[name]})")
    return lines


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
