"""The timing harness behind bench/run (Python 3.11 standard library only).

Runs the cases of issues 7 and 14 against webstir and its JavaScript peers on the same generated
inputs in one run, prints each case's figures and ratios as it goes, and writes bench/results.md.
bench/run builds webstir and installs the peers first; run that, not this file. The measuring
lives in timing.py, the cases in cases.py and (case 5) accuracy.py."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import timing
from accuracy import case_accuracy
from cases import case_add_job, case_build, case_list, case_next_times, case_watch
from timing import BENCH, BUDGET, RESULTS, ROOT, WEBSTIR, WORK, NotMeasured, Report, Settings, Tools

CASES = ("list", "add-job", "next-times", "watch", "accuracy", "build")
CASE_TITLES = {
    "list": "1. CLI latency",
    "add-job": "2. add-job on a large package.json",
    "next-times": "3. Next fire times per second",
    "watch": "4. Watching 1,000 jobs",
    "accuracy": "5. Fire accuracy",
    "build": "6. Build 1,000 TypeScript files",
}


# --------------------------------------------------------------------------------------------
# Results file


def machine() -> dict[str, str]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    def version(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"
    packages = {}
    for name in ("croner", "node-cron", "bun", "bree"):
        try:
            packages[name] = json.loads((BENCH / "node_modules" / name / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            packages[name] = "?"
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "kernel": os.uname().release,
        "commit": version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "binary": ("release build" if "BENCH_WEBSTIR" not in os.environ
                   else f"binary from BENCH_WEBSTIR: {WEBSTIR}"),
        "node": version(["node", "--version"]),
        "packages": ", ".join(f"{k} {v}" for k, v in packages.items()),
    }


ANALYSIS_MARKER = "<!-- analysis: kept by bench/run -->"


def write_results(report: Report, s: Settings, info: dict[str, str], started: dt.datetime, load: tuple,
                  end_load: tuple) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run`" + (" --quick (a smoke run: few repetitions, short windows)" if s.quick else "")
        + (f" ({', '.join(s.cases)} only)" if len(s.cases) < len(CASES) else "") + ". "
        "Times are wall-clock medians with the 25th–75th percentiles in brackets. The ratio is "
        "webstir's figure divided by the peer's, measured in the same run on the same input: "
        "below 1× webstir takes less time, CPU or memory, or is less late; for next times per "
        "second above 1× webstir computes more. Lateness figures are p50 / p99 behind the due "
        "time, and their ratio is of the p50 (the p99 for the worker runner's rows). A growth "
        "row is the fitted exponent of time against the manifest's size (1 is linear). Rows of "
        "the worker runner (`scheduler --runner worker`, issue 14) say `not measured` when the "
        "binary has no `--runner`; the reason is under the case.",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {info['cpu']}, {info['cores']} cores, Linux {info['kernel']}; load average "
        f"(1 / 5 / 15 min) {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the start, "
        f"{end_load[0]:.2f} / {end_load[1]:.2f} / {end_load[2]:.2f} at the end",
        f"- webstir commit {info['commit']} ({info['binary']}); Node {info['node']}; peers from npm: {info['packages']}",
        "- Timing: bench/harness.py (posix_spawn + wait4 per process, perf_counter wall time); "
        "hyperfine is used by nothing here. The machine is shared: a high load average makes "
        "every figure, webstir's and the peers', slower and noisier.",
        "",
        "| case | measure | webstir | peer | peer's figure | webstir ÷ peer | target | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        lines.append(
            f"| {CASE_TITLES[row.case]} | {row.measure} | {row.webstir} | {row.peer_name} | "
            f"{row.peer} | {row.ratio} | {row.target} | {row.verdict} |"
        )
    for case in CASES:
        if case not in s.cases:
            continue
        notes = report.sections.get(case, [])
        skipped = report.not_measured.get(case, [])
        if not notes and not skipped:
            continue
        lines += ["", f"## {CASE_TITLES[case]}", ""]
        for note in notes:
            lines += [note, ""]
        for reason in skipped:
            lines += [f"- Not measured: {reason}"]
    text = "\n".join(lines).rstrip() + "\n"
    # Hand-written analysis below the marker belongs to the results and survives a re-run.
    if RESULTS.exists() and ANALYSIS_MARKER in RESULTS.read_text():
        text += "\n" + ANALYSIS_MARKER + RESULTS.read_text().split(ANALYSIS_MARKER, 1)[1]
    RESULTS.write_text(text)


# --------------------------------------------------------------------------------------------


RUNNERS = {
    "list": case_list,
    "add-job": case_add_job,
    "next-times": case_next_times,
    "watch": case_watch,
    "accuracy": case_accuracy,
    "build": case_build,
}


def parse_args(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke run")
    parser.add_argument("cases", nargs="*", metavar="case",
                        help=f"cases to run, by number (1-6) or name ({', '.join(CASES)}); default all")
    args = parser.parse_args(argv)
    chosen = []
    for item in args.cases:
        if item.isdigit() and 1 <= int(item) <= len(CASES):
            chosen.append(CASES[int(item) - 1])
        elif item in CASES:
            chosen.append(item)
        else:
            parser.error(f"unknown case `{item}` (expected 1-6 or one of {', '.join(CASES)})")
    return Settings(quick=args.quick, cases=chosen or list(CASES))


def main(argv: list[str]) -> int:
    s = parse_args(argv)
    timing.budget = BUDGET["quick" if s.quick else "full"]
    if not WEBSTIR.exists():
        print(f"bench: {WEBSTIR} is missing; run bench/run, which builds it", file=sys.stderr)
        return 1
    tools = Tools.find()
    WORK.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    load = os.getloadavg()
    info = machine()
    print(f"bench: {info['cpu']}, {info['cores']} cores, load {load[0]:.2f}; cases: {', '.join(s.cases)}", flush=True)
    report = Report()
    for case in s.cases:
        print(f"\n{CASE_TITLES[case]}", flush=True)
        began = time.perf_counter()
        try:
            RUNNERS[case](s, tools, report)
        except NotMeasured as why:
            report.skip(case, str(why))
        print(f"  ({time.perf_counter() - began:.0f} s)", flush=True)
    write_results(report, s, info, started, load, os.getloadavg())
    print(f"\nbench: wrote {RESULTS.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
