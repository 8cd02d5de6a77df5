"""bench/run's report: the measurements it collected, as one markdown page with ratios against direnv.

usage: python bench/report.py RESULTS.tsv META.tsv IMPORTTIME-DIR HYPERFINE.json... > report.md
RESULTS.tsv lines are: what (steady/enter/leave), shell, tool, total microseconds, count. IMPORTTIME-DIR
holds `python -X importtime` stderr: startup.txt (the bare interpreter), warm-N.txt and cold-N.txt (the core).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections import defaultdict

TOOLS = ("none", "envr", "direnv", "mise")
STEADY_TARGET = 1 / 20  # envr's steady-state prompt at most 1/20 of direnv's
ENTER_TARGET = 1.0  # entering no slower than direnv


def load_results(path: str) -> tuple[dict[tuple[str, str, str], list[float]], dict[tuple[str, str, str], str]]:
    """(what, shell, tool) -> microseconds per prompt (steady) or per cd (enter, leave), one per process;
    and (what, shell, tool) -> what a shell process that failed said."""
    out: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    failed: dict[tuple[str, str, str], str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            what, shell, tool, total, count = line.rstrip("\n").split("\t", 4)
            if total == "FAIL":
                failed.setdefault((what, shell, tool), count.strip())
            else:
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


def verdict(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "-"
    return "**PASS**" if ratio <= target else "**FAIL**"


def main(argv: list[str]) -> int:
    results_path, meta_path, importtime_dir, *hyperfine_paths = argv
    results, failed = load_results(results_path)
    footnotes: list[str] = []
    meta = load_meta(meta_path)
    hf: dict[str, list[float]] = defaultdict(list)  # command name -> seconds, every round's runs pooled
    for path in hyperfine_paths:
        with open(path, encoding="utf-8") as f:
            for r in json.load(f)["results"]:
                hf[r["command"]].extend(r["times"])
    have_mise = any(tool == "mise" for (_, _, tool) in [*results, *failed])
    tools = [t for t in TOOLS if t != "mise" or have_mise]
    labels = {"none": "no hook", "envr": "envr", "direnv": "direnv", "mise": "mise"}

    def value(what: str, shell: str, tool: str) -> float | None:
        runs = results.get((what, shell, tool))
        return statistics.median(runs) if runs and (what, shell, tool) not in failed else None

    def cell(what: str, shell: str, tool: str) -> str:
        why = failed.get((what, shell, tool))
        if why is None:
            return fmt_us(value(what, shell, tool))
        if why != "(see enter)":
            footnotes.append(f"{tool} failed ({what}, {shell}): {why}")
        return f"FAILED[^{len(footnotes)}]"

    header = ["measurement", *(labels[t] for t in tools), "envr/direnv", "target", "result"]
    rows: list[list[str]] = []
    for shell in ("bash", "zsh", "fish"):
        cells = {t: value("steady", shell, t) for t in tools}
        ratio = ratio_of(cells["envr"], cells["direnv"])
        rows.append(
            [
                f"prompt, steady state, {shell} (per prompt)",
                *(cell("steady", shell, t) for t in tools),
                fmt_ratio(ratio),
                "≤ 1/20",
                verdict(ratio, STEADY_TARGET),
            ]
        )

    def hf_cell(name: str) -> tuple[str, float | None]:
        times = hf.get(name)
        if not times:
            return "-", None
        median = statistics.median(times)
        sd = statistics.stdev(times) if len(times) > 1 else 0.0
        text = f"{median * 1000:.1f} ms (min {min(times) * 1000:.1f}, sd {sd * 1000:.1f})"
        return text, median * 1e6

    cells_hf = {t: hf_cell(t) for t in tools if t != "none"}
    ratio = ratio_of(cells_hf["envr"][1], cells_hf["direnv"][1])
    rows.append(
        [
            "enter: core's full load, `export bash` as the hook calls it (hyperfine)",
            *("-" if t == "none" else cells_hf[t][0] for t in tools),
            fmt_ratio(ratio),
            "≤ 1",
            verdict(ratio, ENTER_TARGET),
        ]
    )
    cold_text, cold = hf_cell("envr-cold")
    ratio = ratio_of(cold, cells_hf["direnv"][1])
    rows.append(
        [
            "enter, envr's cache wiped before each run (after an upgrade of envr or a cleared ~/.cache)",
            *("-" if t == "none" else cold_text if t == "envr" else "as above" for t in tools),
            fmt_ratio(ratio),
            "≤ 1",
            verdict(ratio, ENTER_TARGET),
        ]
    )
    for shell in ("bash", "zsh"):
        for what, words in (("enter", "`cd proj` + prompt"), ("leave", "`cd ..` + prompt")):
            cells = {t: value(what, shell, t) for t in tools}
            ratio = ratio_of(cells["envr"], cells["direnv"])
            target = "≤ 1" if what == "enter" else "(info)"
            rows.append(
                [
                    f"{what}: {words}, {shell}",
                    *(cell(what, shell, t) for t in tools),
                    fmt_ratio(ratio),
                    target,
                    verdict(ratio, ENTER_TARGET) if what == "enter" else "-",
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
        f"- shells: {meta.get('bash', '?')}; {meta.get('zsh', '?')}; {meta.get('fish', '?')}",
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
        f"1. envr's interpreter, no site (`python -I -S -c pass`): {hf_cell('python-nosite')[0]}",
        f"2. plus site and the venv's .pth files (`python -I -c pass`): {hf_cell('python-bare')[0]}",
        f"3. plus importing what the core imports (`import envr.prompt.entry, envr.prompt.core`): "
        f"{hf_cell('envr-imports')[0]}",
        f"4. plus the work, with envr's cache warm (the full core, as above): {hf_cell('envr')[0]}",
        f"5. the full core with envr's cache cleared: {hf_cell('envr-cold')[0]}",
        "",
    ]
    for temp, words in (("warm", "cache warm"), ("cold", "cache cleared")):
        lines = import_breakdown(importtime_dir, temp)
        if lines:
            out.append(
                f"`python -X importtime` of the core ({words}), imports beyond the interpreter's start: {lines[0]}"
            )
            out.append("")
            out += [f"- {line}" for line in lines[1:12]]
            out.append("")
    if any(import_breakdown(importtime_dir, t) for t in ("warm", "cold")):
        out += [
            "(importtime's own numbers, inflated by its bookkeeping; an import is charged to whichever module "
            "imports it first, so a module that others need too, like re for json, saves nothing until the last "
            "importer goes.)",
            "",
        ]
    out += [
        "Steady state: one shell process per tool, in the project's src/app, the hook installed as a user does "
        '(`eval "$(envr hook bash)"`, `direnv hook`, `mise activate`), the project loaded by the first prompts, '
        "then N prompts timed in a loop with the shell's clock (bash/zsh $EPOCHREALTIME, fish `date` around the "
        "loop); a prompt is every PROMPT_COMMAND entry (bash), every precmd function (zsh), `emit fish_prompt` "
        "(fish). 'no hook' is the same loop with nothing installed; ratios are of the raw per-prompt times "
        "(loop overhead included, which only counts against envr). Entering: hyperfine -N runs each core in "
        "the project's root with the environment of a shell outside it (a full load each time); the cd rows "
        "time a real `cd` and the prompt after it in one shell (for mise, its `cd` wrapper and chpwd hook). "
        "Values are medians over shell processes (steady) or over hyperfine's runs, every round pooled.",
    ]
    if footnotes:
        out += ["", *(f"[^{i}]: {note}" for i, note in enumerate(footnotes, 1))]
    print("\n".join(out))
    return 0


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


def ratio_of(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
