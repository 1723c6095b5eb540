"""Case 5 for bench/harness.py: fire accuracy. 50 jobs due every second (on `rate(1 second)` and
on the six-field cron `* * * * * *`), and 1 job every second, under webstir's watcher with the
process runner and the worker runner, and under the peers: the in-process JavaScript watcher
(bench/js/watch.mjs) on Node and Bun, the same starting a Node process per run, and Bree."""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from cases import workspace
from timing import (
    BENCH,
    JS,
    NOT_MEASURED,
    WEBSTIR,
    WORK,
    Report,
    Row,
    Settings,
    Stat,
    Tools,
    WatchRun,
    fmt_mb,
    fmt_ratio,
    measure,
    runner_support,
    verdict,
    watch,
)

CASE = "accuracy"
LOG_DIR = WORK / "accuracy-logs"
SCHEDULES = {"rate": "rate(1 second)", "cron": "* * * * * *"}

# Watcher labels, shared by the rows and the tables.
PROCESS_NODE = "webstir, process runner, jobs on node"
PROCESS_BUN = "webstir, process runner, jobs on bun"
WORKER_NODE = "webstir, worker runner, jobs on node"
WORKER_BUN = "webstir, worker runner, jobs on bun"
JS_NODE = "watch.mjs on node, in-process"
JS_BUN = "watch.mjs on bun, in-process"
JS_SPAWN = "watch.mjs on node, jobs on node"
BREE = "Bree on node, a worker thread per run"


def job_module(name: str) -> str:
    """The job every watcher runs. It stamps the start of run() (`performance.timeOrigin +
    performance.now()`), the start of its process or thread (`timeOrigin`), the pid, and the due
    time it was fired for (WEBSTIR_FIRE_TIME, which every watcher here sets)."""
    log = LOG_DIR / f"{name}.log"
    return (
        'import { appendFileSync } from "node:fs";\n'
        "export async function run() {\n"
        "  const now = performance.timeOrigin + performance.now();\n"
        '  const fire = process.env.WEBSTIR_FIRE_TIME || "-";\n'
        f"  appendFileSync({json.dumps(str(log))}, "
        "`${now} ${performance.timeOrigin} ${process.pid} ${fire}\\n`);\n"
        "}\n"
    )


def accuracy_workspace(name: str, count: int, schedule: str) -> Path:
    names = [f"tick_{i:02d}" for i in range(count)]
    jobs = [{"name": job, "schedule": schedule} for job in names]
    return workspace(name, jobs, {job: job_module(job) for job in names})


def watchers(ws: Path, t: Tools, worker: bool, bree: bool, labels: tuple[str, ...]) -> dict[str, list[str]]:
    webstir = [str(WEBSTIR), "--workspace", str(ws), "scheduler", "--watch"]
    every = {
        PROCESS_NODE: webstir,
        PROCESS_BUN: webstir + ["--node", t.bun],
        WORKER_NODE: webstir + ["--runner", "worker"],
        WORKER_BUN: webstir + ["--runner", "worker", "--node", t.bun],
        JS_NODE: [t.node, str(JS / "watch.mjs"), str(ws)],
        JS_BUN: [t.bun, str(JS / "watch.mjs"), str(ws)],
        JS_SPAWN: [t.node, str(JS / "watch.mjs"), str(ws), "--spawn", t.node],
        BREE: [t.node, str(JS / "bree.mjs"), str(ws)],
    }
    chosen = {}
    for label in labels:
        if label in (WORKER_NODE, WORKER_BUN) and not worker:
            continue
        if label == BREE and not bree:
            continue
        chosen[label] = every[label]
    return chosen


def case_accuracy(s: Settings, t: Tools, report: Report) -> None:
    seconds = 10.0 if s.quick else 30.0
    why_not_worker = runner_support()
    if why_not_worker:
        report.skip(CASE, f"the worker runner's rows: {why_not_worker}")
    bree = (BENCH / "node_modules" / "bree" / "package.json").exists()
    if not bree:
        report.skip(CASE, "Bree: bench/node_modules/bree is missing (bench/run installs it)")
    worker = why_not_worker is None
    # What runs, per workload: the process runner and watch.mjs --spawn only on the rate
    # workload (as before issue 14); the cron workload is for the worker runner and its peers.
    plan = {
        "rate": (50, (PROCESS_NODE, PROCESS_BUN, WORKER_NODE, WORKER_BUN, JS_NODE, JS_BUN, JS_SPAWN, BREE)),
        "cron": (50, (WORKER_NODE, WORKER_BUN, JS_NODE, JS_BUN, BREE)),
        "single": (1, (WORKER_NODE, JS_NODE)),
    }
    results: dict[str, dict[str, dict]] = {}
    for key, (count, labels) in plan.items():
        schedule = SCHEDULES.get(key, SCHEDULES["rate"])
        ws = accuracy_workspace(f"accuracy-{key}-{count}", count, schedule)
        print(f"  {count} job{'s' if count > 1 else ''} on `{schedule}`, {seconds:.0f} s per watcher", flush=True)
        for label, argv in watchers(ws, t, worker, bree, labels).items():
            outcome = observe(label, argv, t, seconds, count, report)
            if outcome is not None:
                results.setdefault(key, {})[label] = outcome
                print_outcome(label, outcome)

    capacity(t, report)
    for key in plan:
        if results.get(key):
            count = plan[key][0]
            schedule = SCHEDULES.get(key, SCHEDULES["rate"])
            report.detail(CASE, table(f"{count} job{'s' if count > 1 else ''} on `{schedule}`", results[key]))
    process_rows(results.get("rate", {}), report)
    for key in ("rate", "cron"):
        worker_rows(key, results.get(key, {}), report)
    single_rows(results.get("single", {}), report)
    report.detail(CASE, explanation(seconds))


def observe(label: str, argv: list[str], t: Tools, seconds: float, count: int, report: Report) -> dict | None:
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    run = watch(argv, t.env, seconds, "watching jobs")
    if run.ready_at is None or not run.samples:
        report.skip(CASE, f"{label}: never reported `watching jobs` (exit {run.exit_code}): "
                    + " / ".join(run.output_tail[-3:]))
        return None
    stopped = run.samples[-1][0]
    outcome = lateness(LOG_DIR, run.ready_at, seconds, stopped, run.announced, count)
    outcome.update(costs(run))
    return outcome


def print_outcome(label: str, r: dict) -> None:
    print(f"    {label}: run() {late(r, 'run_p50', 'run_p99')}, dispatch {late(r, 'p50', 'p99')}, "
          f"timer {late(r, 'timer_p50', 'timer_p99')}, runs {r['runs']}, "
          f"missed {r['missed']}, doubled {r['doubled']}, CPU {r['cpu']:.2f} s, "
          f"RSS {fmt_mb(r['rss_peak'])} in {r['procs']} process(es)"
          + ("" if r["due_known"] else " (due times not reported: grid anchored)"), flush=True)


def costs(run: WatchRun) -> dict:
    """CPU and memory of the watcher's whole process tree (the watcher, its workers or its job
    processes) over the window: CPU from the first sample after `watching jobs` to the last."""
    tree = run.tree
    if len(tree) < 2:
        return {"cpu": float("nan"), "cores": float("nan"), "rss_peak": 0, "rss_end": 0, "procs": 0}
    span = tree[-1][0] - tree[0][0]
    cpu = tree[-1][1] - tree[0][1]
    return {
        "cpu": cpu,
        "cores": cpu / span if span > 0 else float("nan"),
        "rss_peak": max(x[2] for x in tree),
        "rss_end": tree[-1][2],
        "procs": max(x[3] for x in tree),
    }


def capacity(t: Tools, report: Report) -> None:
    costs_of = {name: Stat.of([x.cpu for x in measure(argv, t.env, 5)]).median
                for name, argv in (("Node", [t.node, "-e", "0"]), ("Bun", [t.bun, "-e", "0"]))}
    cores = os.cpu_count() or 1
    report.detail(CASE, "Capacity: starting a runtime costs " + " and ".join(
        f"{cpu * 1000:.0f} ms of CPU for {name} (so 50 runs a second need {cpu * 50:.1f} of the "
        f"machine's {cores} cores)" for name, cpu in costs_of.items()
    ) + ". A watcher that starts a new process per run cannot keep up when that exceeds the "
        "cores; the overlap policy (skip) then shows up as missed runs.")


# --------------------------------------------------------------------------------------------
# Rows and tables


def late(r: dict | None, a: str, b: str) -> str:
    if not r:
        return NOT_MEASURED
    if math.isnan(r[a]):
        return "no runs"
    return f"{r[a]:.1f} / {r[b]:.1f} ms"


def counts(r: dict | None) -> str:
    return f"{r['runs']} / {r['missed']} / {r['doubled']}" if r else NOT_MEASURED


def cpu_text(r: dict | None) -> str:
    return f"{r['cpu']:.2f} s ({r['cores']:.2f} cores)" if r else NOT_MEASURED


def table(title: str, results: dict[str, dict]) -> str:
    lines = [
        f"{title}:",
        "",
        "| watcher | run() start, p50 / p99 | dispatch, p50 / p99 | timer: first `running` of each "
        "second, p50 / p99 | every `running` logged, p50 / p99 | runs / missed / doubled | CPU of "
        "the process tree in the window | resident memory of the tree, peak (end) | processes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        anchored = "" if r["due_known"] else " (grid anchored)"
        lines.append(
            f"| {label}{anchored} | {late(r, 'run_p50', 'run_p99')} | {late(r, 'p50', 'p99')} | "
            f"{late(r, 'timer_p50', 'timer_p99')} | {late(r, 'log_p50', 'log_p99')} | {counts(r)} | "
            f"{cpu_text(r)} | {fmt_mb(r['rss_peak'])} ({fmt_mb(r['rss_end'])}) | {r['procs']} |"
        )
    return "\n".join(lines)


def process_rows(results: dict[str, dict], report: Report) -> None:
    """The rows of issue 7: the process runner against the JavaScript watcher that also starts a
    Node process per run (jobs on Node) and against the in-process one on Bun."""
    for mine_label, peer_label in ((PROCESS_NODE, JS_SPAWN), (PROCESS_BUN, JS_BUN)):
        mine, theirs = results.get(mine_label), results.get(peer_label)
        if theirs is None:
            continue
        ratio = lambda key: fmt_ratio(mine[key], theirs[key]) if mine else "–"
        report.row(Row(CASE, f"{mine_label}: timer (first `running` of each second) p50 / p99",
                       late(mine, "timer_p50", "timer_p99"), peer_label,
                       late(theirs, "timer_p50", "timer_p99"), ratio("timer_p50")))
        report.row(Row(CASE, f"{mine_label}: dispatch lateness p50 / p99", late(mine, "p50", "p99"),
                       peer_label, late(theirs, "p50", "p99"), ratio("p50")))
        report.row(Row(CASE, f"{mine_label}: run() lateness p50 / p99", late(mine, "run_p50", "run_p99"),
                       peer_label, late(theirs, "run_p50", "run_p99"), ratio("run_p50")))
        report.row(Row(CASE, f"{mine_label}: runs / missed / doubled", counts(mine), peer_label,
                       counts(theirs), "–"))


def worker_rows(key: str, results: dict[str, dict], report: Report) -> None:
    """Issue 14's targets for the worker runner: run() on time, nothing missed or doubled, and
    less CPU (watcher plus workers) than the in-process JavaScript watcher on the same runtime."""
    workload = f"50 × `{SCHEDULES[key]}`"
    for mine_label, peers, cpu_peer in (
        (WORKER_NODE, (JS_NODE, BREE), JS_NODE),
        (WORKER_BUN, (JS_BUN,), JS_BUN),
    ):
        mine = results.get(mine_label)
        for peer_label in peers:
            theirs = results.get(peer_label)
            if theirs is None and mine is None:
                continue
            peer_name = peer_label if theirs else f"{peer_label} (not measured)"
            ratio = lambda k: fmt_ratio(mine[k], theirs[k]) if mine and theirs else "–"
            report.row(Row(
                CASE, f"{mine_label}, {workload}: run() lateness p50 / p99",
                late(mine, "run_p50", "run_p99"), peer_name, late(theirs, "run_p50", "run_p99"),
                ratio("run_p99"), "p50 < 5 ms, p99 < 20 ms",
                verdict(mine["run_p50"] < 5 and mine["run_p99"] < 20 if mine else None),
            ))
            report.row(Row(
                CASE, f"{mine_label}, {workload}: runs / missed / doubled", counts(mine), peer_name,
                counts(theirs), "–", "0 missed, 0 doubled",
                verdict(mine["missed"] == 0 and mine["doubled"] == 0 if mine else None),
            ))
            judged = peer_label == cpu_peer
            report.row(Row(
                CASE, f"{mine_label}, {workload}: CPU of the watcher and its workers",
                cpu_text(mine), peer_name, cpu_text(theirs), ratio("cpu"),
                f"< {peer_label}" if judged else "",
                verdict(mine["cpu"] < theirs["cpu"] if mine and theirs else None) if judged else "",
            ))


def single_rows(results: dict[str, dict], report: Report) -> None:
    mine, theirs = results.get(WORKER_NODE), results.get(JS_NODE)
    if mine is None and theirs is None:
        return
    report.row(Row(
        CASE, f"{WORKER_NODE}, 1 × `{SCHEDULES['rate']}`: run() lateness p50 / p99",
        late(mine, "run_p50", "run_p99"), JS_NODE, late(theirs, "run_p50", "run_p99"),
        fmt_ratio(mine["run_p99"], theirs["run_p99"]) if mine and theirs else "–", "p99 < 5 ms",
        verdict(mine["run_p99"] < 5 if mine else None),
    ))
    report.row(Row(
        CASE, f"{WORKER_NODE}, 1 × `{SCHEDULES['rate']}`: runs / missed / doubled", counts(mine),
        JS_NODE, counts(theirs), "–", "0 missed, 0 doubled",
        verdict(mine["missed"] == 0 and mine["doubled"] == 0 if mine else None),
    ))


def explanation(seconds: float) -> str:
    return (
        f"Each watcher runs alone for {seconds:.0f} s after it prints `watching jobs`: 50 jobs on "
        f"`rate(1 second)`, 50 jobs on the six-field cron `* * * * * *` (every second), and 1 job on "
        f"`rate(1 second)`. Every run appends, at the start of run(), `performance.timeOrigin + "
        f"performance.now()`, the process's (or thread's) `performance.timeOrigin`, the pid and "
        f"`WEBSTIR_FIRE_TIME`, the due time the run was fired for: webstir sets it (for a rate, the "
        f"point of its drift-free grid), watch.mjs sets it the same way (the grid start + k s, "
        f"croner's planned time), and bench/js/bree.mjs sets it when Bree's timer creates the "
        f"worker (the start + k s for `interval`, the whole second for the cron; Bree does not "
        f"expose its own). Lateness is measured from that due time: run() = the start of run(), "
        f"what the issue's targets name, including a runtime's start-up where a run starts one; "
        f"dispatch = the start of the process or thread made for that run (its timeOrigin, when no "
        f"other run shares it), else the start of run(); timer = the first `[jobs] running` line "
        f"of each second as the harness read it; logged = every such line. A watcher that does not "
        f"report due times (marked `grid anchored`) is measured against the grid anchored at its "
        f"least-late `running` line. A due time with no run is missed; two runs for one due time "
        f"are doubled; only due times after `watching jobs` and at least 1 s before the end of "
        f"the window count. CPU is "
        f"utime + stime of the watcher's whole process tree (its workers or job processes, and "
        f"the children they reaped, from /proc every 0.25 s) from the first sample after `watching "
        f"jobs` to the last, and cores = that CPU ÷ the window; resident memory is the sum of "
        f"VmRSS over the tree. The worker runner is `scheduler --watch --runner worker` (with "
        f"`--node <bun>` on Bun). One run per watcher."
    )


# --------------------------------------------------------------------------------------------
# Lateness


def fire_time(text: str) -> float | None:
    if text == "-":
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def lateness(log_dir: Path, ready: float, seconds: float, stopped: float,
             announced: list[tuple[float, str]], jobs: int) -> dict:
    """Lateness of every run behind its due time, and the due times missed or run twice."""
    entries = []  # (job, run() start, process/thread start, pid, due or None)
    for log in sorted(log_dir.glob("*.log")):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            due = fire_time(parts[3]) if len(parts) > 3 else None
            entries.append((log.stem, float(parts[0]) / 1000, float(parts[1]) / 1000, parts[2], due))
    # A process or thread that ran one run only was started for it (the process runner, watch.mjs
    # --spawn): it was dispatched when it started. One that many runs share (the watcher itself,
    # a worker) was dispatched when run() began.
    shared = Counter((pid, origin) for _, _, origin, pid, _ in entries)
    due_known = bool(entries) and all(due is not None for *_, due in entries)
    if due_known:
        # Due times from before `watching jobs` do not count: a watcher that plans its jobs one
        # after another across a second boundary has planned only some of them for that second.
        dues = [due for *_, due in entries]
        start = min([due for due in dues if due >= ready] or dues)
    else:
        # Without due times, the grid is anchored where the watcher's `running` lines (or the
        # launches) say it fired soonest after a whole second: a scheduler never fires early.
        marks = [at for at, _job in announced] or [
            origin if shared[(pid, origin)] == 1 else ran for _, ran, origin, pid, _ in entries
        ]
        start = min(at - math.floor(at - ready + 0.05) for at in marks) if marks else ready
    last_due = int(min(seconds, stopped - start) - 1.0)
    dispatch, run_late = [], []
    slots: dict[str, Counter] = {}
    for job, ran, origin, pid, due in entries:
        launched = origin if shared[(pid, origin)] == 1 and origin <= ran else ran
        if due_known:
            slot = round(due - start)
        else:
            slot = math.floor(launched - start + 0.001)
            due = start + slot
        seen = slots.setdefault(job, Counter())
        if slot < 0 or slot > last_due:
            continue
        seen[slot] += 1
        dispatch.append((launched - due) * 1000)
        run_late.append((ran - due) * 1000)
    total = missed = doubled = 0
    for seen in slots.values():
        total += sum(seen.values())
        missed += sum(1 for k in range(last_due + 1) if k not in seen)
        doubled += sum(n - 1 for n in seen.values() if n > 1)
    missed += (jobs - len(slots)) * (last_due + 1)
    said = []
    first_said: dict[int, float] = {}
    for at, _job in announced:
        slot = math.floor(at - start + 0.001)
        if 0 <= slot <= last_due:
            late_ms = (at - (start + slot)) * 1000
            said.append(late_ms)
            first_said[slot] = min(late_ms, first_said.get(slot, late_ms))
    timer = list(first_said.values())
    return {
        "timer_p50": percentile(timer, 50), "timer_p99": percentile(timer, 99),
        "log_p50": percentile(said, 50), "log_p99": percentile(said, 99),
        "p50": percentile(dispatch, 50), "p99": percentile(dispatch, 99),
        "run_p50": percentile(run_late, 50), "run_p99": percentile(run_late, 99),
        "runs": total, "missed": missed, "doubled": doubled, "due_known": due_known,
    }


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
