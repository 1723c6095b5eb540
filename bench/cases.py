"""The six cases of issue 7 for bench/harness.py, and the inputs they generate in bench/work."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import timing
from timing import (
    BUILD_SCRIPT,
    JS,
    NEXT_TIMES,
    NOT_MEASURED,
    WEBSTIR,
    WORK,
    NotMeasured,
    Report,
    Row,
    Settings,
    Stat,
    Tools,
    WatchRun,
    check_output,
    fmt_mb,
    fmt_ms,
    fmt_rate,
    fmt_ratio,
    fmt_time,
    measure,
    verdict,
    watch,
)


# --------------------------------------------------------------------------------------------
# Inputs


SCHEDULES = [
    "0 0 * * *",
    "*/5 * * * *",
    "rate(1 minute)",
    "@hourly",
    "30 9 * * 1-5",
    "0 0 13 * 5",
    "15,45 */2 * * *",
    "@daily",
]


def job_entry(i: int, schedule: str | None) -> dict:
    entry = {"name": f"job_{i:05d}"}
    if schedule is not None:
        entry["schedule"] = schedule
    entry["description"] = f"Job {i}: syncs records"
    entry["priority"] = i % 10
    entry["timezone"] = "Europe/London" if i % 2 else "America/New_York"
    return entry


def package_json(name: str, jobs: list[dict]) -> str:
    document = {
        "name": name,
        "version": "1.0.0",
        "private": True,
        "type": "module",
        "webstir": {
            "mode": "api",
            "moduleManifest": {
                "contractVersion": "1.0.0",
                "name": name,
                "version": "1.0.0",
                "kind": "backend",
                "capabilities": [],
                "jobs": jobs,
            },
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def workspace(name: str, jobs: list[dict], modules: dict[str, str] | None = None) -> Path:
    """Writes a workspace under bench/work (reused when the same inputs were written before):
    package.json, a TypeScript source stub per job and the built module of each job."""
    root = WORK / name
    text = package_json(name, jobs)
    stamp = root / ".bench-inputs"
    fingerprint = f"{len(text)}:{hash_text(text)}:{hash_text(json.dumps(modules, sort_keys=True))}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "src" / "backend" / "jobs").mkdir(parents=True)
    (root / "package.json").write_text(text)
    (root / "src" / "backend" / "index.ts").write_text("export {};\n")
    for job in jobs:
        job_name = job["name"]
        source = root / "src" / "backend" / "jobs" / job_name
        source.mkdir()
        (source / "index.ts").write_text(
            f"export async function run(): Promise<void> {{\n"
            f"  console.info('[job:{job_name}] ran at', new Date().toISOString());\n}}\n"
        )
        built = root / "build" / "backend" / "jobs" / job_name
        built.mkdir(parents=True)
        module = (modules or {}).get(job_name, "export async function run() {}\n")
        (built / "index.js").write_text(module)
    stamp.write_text(fingerprint)
    return root


def hash_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Case 1: CLI latency


def case_list(s: Settings, t: Tools, report: Report) -> None:
    case = "list"
    runs = s.reps(30, 5)
    floors = {}
    for label, argv in (("node -e 0", [t.node, "-e", "0"]), ("bun -e 0", [t.bun, "-e", "0"])):
        floors[label] = Stat.of([x.wall for x in measure(argv, t.env, runs)])
    for count in (10, 10_000):
        jobs = [job_entry(i, SCHEDULES[i % len(SCHEDULES)]) for i in range(count)]
        ws = workspace(f"list-{count}", jobs)
        lines = lambda out, n=count: None if len(out.splitlines()) >= n else (
            f"printed {len(out.splitlines())} lines for {n} jobs"
        )
        peers = {}
        for runtime, exe in (("node", t.node), ("bun", t.bun)):
            argv = [exe, str(JS / "list.mjs"), str(ws)]
            try:
                check_output(argv, t.env, lines)
                peers[runtime] = Stat.of([x.wall for x in measure(argv, t.env, runs, checked=True)])
            except NotMeasured as why:
                report.skip(case, str(why))
        built = install_scheduler(ws)
        commands = {
            "webstir scheduler --list": [str(WEBSTIR), "--workspace", str(ws), "scheduler", "--list"],
            "build/backend/jobs/scheduler --list": [str(built), "--list"],
            "webstir backend-inspect --json": [str(WEBSTIR), "--workspace", str(ws), "backend-inspect", "--json"],
        }
        checks = {label: lines for label in commands}
        checks["webstir backend-inspect --json"] = json_jobs(count)
        for label, argv in commands.items():
            stat = None
            try:
                check_output(argv, t.env, checks[label])
                stat = Stat.of([x.wall for x in measure(argv, t.env, runs, checked=True)])
            except NotMeasured as why:
                report.skip(case, f"{label} at {count} jobs: {why}")
            for runtime, peer in peers.items():
                target = ""
                if count == 10 and runtime == "bun":
                    target = "≤ 0.1× Bun"
                    ok = stat.median <= 0.1 * peer.median if stat else None
                elif count == 10_000:
                    target = "< 50 ms"
                    ok = stat.median < 0.050 if stat else None
                report.row(Row(
                    case, f"`{label}`, {count:,} jobs", fmt_time(stat) if stat else NOT_MEASURED,
                    f"list.mjs on {runtime}", fmt_time(peer),
                    fmt_ratio(stat.median, peer.median) if stat else "–", target,
                    verdict(ok) if target else "",
                ))
    for label, stat in floors.items():
        report.row(Row(case, f"floor: `{label}`", "–", label, fmt_time(stat)))
    report.detail(case, (
        f"{runs} timed runs per command after 2 warm-up runs (fewer, and shown, when a command "
        f"would take more than {timing.budget:.0f} s in all); wall time, median (p25–p75)."
    ))


def install_scheduler(ws: Path) -> Path:
    """Places the release binary as `build/backend/jobs/scheduler`, where `webstir build` puts it
    (a hard link, so the binary finds its workspace from its own path, as the built one does)."""
    target = ws / "build" / "backend" / "jobs" / "scheduler"
    target.unlink(missing_ok=True)
    try:
        os.link(WEBSTIR, target)
    except OSError:
        shutil.copy2(WEBSTIR, target)
    return target


def json_jobs(count: int):
    def check(out: str) -> str | None:
        try:
            document = json.loads(out)
        except json.JSONDecodeError as error:
            return f"output is not JSON: {error}"
        jobs = document.get("jobs") if isinstance(document, dict) else None
        if not isinstance(jobs, list) or len(jobs) != count:
            return f"expected {count} jobs in the JSON output"
        return None

    return check


# --------------------------------------------------------------------------------------------
# Case 2: add-job


def case_add_job(s: Settings, t: Tools, report: Report) -> None:
    case = "add-job"
    sizes = (1000, 5000) if s.quick else (500, 1000, 2000, 5000, 10_000)
    runs = s.reps(15, 4)
    new_name = "bench_new_job"
    points = []
    for count in sizes:
        jobs = [job_entry(i, SCHEDULES[i % len(SCHEDULES)]) for i in range(count)]
        ws = workspace(f"add-job-{count}", jobs)
        manifest = ws / "package.json"
        # From the generator, not the file: an interrupted run may have left a job added.
        pristine = package_json(ws.name, jobs).encode()
        megabytes = len(pristine) / 1_000_000

        def reset(ws=ws, manifest=manifest, pristine=pristine) -> None:
            manifest.write_bytes(pristine)
            shutil.rmtree(ws / "src" / "backend" / "jobs" / new_name, ignore_errors=True)

        def added(_out: str, manifest=manifest, count=count) -> str | None:
            jobs = json.loads(manifest.read_text())["webstir"]["moduleManifest"]["jobs"]
            if len(jobs) != count + 1 or jobs[-1]["name"] != new_name:
                return "the job was not appended to package.json"
            return None

        commands = {
            "webstir": [str(WEBSTIR), "--workspace", str(ws), "add-job", new_name, "--schedule", "*/5 * * * *"],
            "node": [t.node, str(JS / "add_job.mjs"), str(ws), new_name, "*/5 * * * *"],
            "bun": [t.bun, str(JS / "add_job.mjs"), str(ws), new_name, "*/5 * * * *"],
        }
        stats = {}
        for label, argv in commands.items():
            try:
                reset()
                check_output(argv, t.env, added)
                stats[label] = Stat.of([x.wall for x in measure(argv, t.env, runs, before=reset, checked=True)])
            except NotMeasured as why:
                report.skip(case, f"{label} at {count} jobs: {why}")
        reset()
        mine = stats.get("webstir")
        if mine is not None:
            points.append((megabytes, mine.median))
        for runtime in ("bun", "node"):
            if runtime not in stats:
                continue
            big = count == 5000
            report.row(Row(
                case, f"`add-job`, {count:,} jobs ({megabytes:.2f} MB)",
                fmt_time(mine) if mine else NOT_MEASURED,
                f"add_job.mjs on {runtime}", fmt_time(stats[runtime]),
                fmt_ratio(mine.median, stats[runtime].median) if mine else "–",
                "< 20 ms" if big else "",
                verdict(mine.median < 0.020 if mine else None) if big else "",
            ))
    if len(points) >= 3:
        slope, intercept, worst = linear_fit(points)
        exponent, _, _ = linear_fit([(math.log(x), math.log(y)) for x, y in points])
        report.detail(case, (
            f"Growth of webstir's median time with the file size: time ∝ size^{exponent:.2f} "
            f"(least squares on log–log; linear growth is an exponent near 1, quadratic near 2). "
            f"Straight-line fit: {intercept * 1000:.1f} ms + {slope * 1000:.1f} ms per MB, largest "
            f"deviation of a point from it {worst * 1000:.1f} ms."
        ))
    report.detail(case, (
        f"{runs} timed runs per command and size after 2 warm-up runs; package.json and the job "
        f"folder are restored before every run (untimed). The JavaScript peer parses and "
        f"re-serializes the whole file with JSON.stringify, so it does not keep the user's format."
    ))


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    worst = max(abs(y - (intercept + slope * x)) for x, y in points)
    return slope, intercept, worst


# --------------------------------------------------------------------------------------------
# Case 3: next fire times per second


EXPRESSIONS = [
    "*/5 * * * *",
    "0 * * * *",
    "0 0 * * *",
    "30 9 * * 1-5",
    "15,45 */2 * * *",
    "0 0 1 * *",
    "0 0 13 * 5",
    "0 12 * * 0",
]


def case_next_times(s: Settings, t: Tools, report: Report) -> None:
    case = "next-times"
    seconds = "0.05" if s.quick else "0.2"
    reps = s.reps(3, 1)
    impls = {
        "webstir": lambda tz: [str(NEXT_TIMES), seconds, tz, *EXPRESSIONS],
        "croner on node": lambda tz: [t.node, str(JS / "next_times.mjs"), "croner", seconds, tz, *EXPRESSIONS],
        "croner on bun": lambda tz: [t.bun, str(JS / "next_times.mjs"), "croner", seconds, tz, *EXPRESSIONS],
        "node-cron on node": lambda tz: [t.node, str(JS / "next_times.mjs"), "node-cron", seconds, tz, *EXPRESSIONS],
        "node-cron on bun": lambda tz: [t.bun, str(JS / "next_times.mjs"), "node-cron", seconds, tz, *EXPRESSIONS],
    }
    table: dict[tuple[str, str], dict[str, Stat]] = {}
    for tz in ("-", "America/New_York"):
        for label, argv_for in impls.items():
            values: dict[str, list[float]] = {}
            try:
                for _ in range(reps):
                    out = check_output(argv_for(tz), t.env)
                    for line in out.splitlines():
                        item = json.loads(line)
                        if "error" in item:
                            raise NotMeasured(f"{label}: `{item['expr']}`: {item['error']}")
                        values.setdefault(item["expr"], []).append(item["per_second"])
            except NotMeasured as why:
                report.skip(case, f"{'UTC' if tz == '-' else tz}: {why}")
                continue
            table[(tz, label)] = {expr: Stat.of(v) for expr, v in values.items()}
    for tz in ("-", "America/New_York"):
        zone = "UTC" if tz == "-" else tz
        mine = table.get((tz, "webstir"))
        mine_geo = geomean([x.median for x in mine.values()]) if mine else None
        for label in ("croner on node", "croner on bun", "node-cron on node", "node-cron on bun"):
            theirs = table.get((tz, label))
            if theirs is None:
                continue
            geo = geomean([x.median for x in theirs.values()])
            headline = label == "croner on bun"
            report.row(Row(
                case, f"next times per second, geometric mean of {len(EXPRESSIONS)} expressions, {zone}",
                fmt_rate(mine_geo) if mine_geo else NOT_MEASURED, label, fmt_rate(geo),
                fmt_ratio(mine_geo, geo) if mine_geo else "–",
                "≥ 1 M/s" if headline else "",
                verdict(mine_geo >= 1e6 if mine_geo else None) if headline else "",
            ))
        five = "*/5 * * * *"
        theirs = table.get((tz, "croner on bun"))
        report.row(Row(
            case, f"next times per second, `{five}`, {zone}",
            fmt_rate(mine[five].median) if mine else NOT_MEASURED,
            "croner on bun", fmt_rate(theirs[five].median) if theirs else "–",
            fmt_ratio(mine[five].median, theirs[five].median) if mine and theirs else "–",
            "≥ 1 M/s", verdict(mine[five].median >= 1e6 if mine else None),
        ))
    labels = [label for label in impls if any((tz, label) in table for tz in ("-", "America/New_York"))]
    if labels:
        lines = ["| expression | zone | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
        for tz in ("-", "America/New_York"):
            for expr in EXPRESSIONS:
                cells = [fmt_rate(table[(tz, l)][expr].median) if (tz, l) in table else "–" for l in labels]
                lines.append(f"| `{expr}` | {'UTC' if tz == '-' else tz} | " + " | ".join(cells) + " |")
        report.detail(case, "\n".join(lines))
    report.detail(case, (
        f"Each figure is the median of {reps} processes, each running a chain of next-time "
        f"calls (next = after(previous)) for {seconds} s per expression after a warm-up, from "
        f"2026-01-01T00:00Z. UTC means no time zone for the JavaScript libraries (TZ=UTC) and "
        f"`Tz::UTC` for webstir."
    ))


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


# --------------------------------------------------------------------------------------------
# Case 4: watching 1,000 jobs


def case_watch(s: Settings, t: Tools, report: Report) -> None:
    case = "watch"
    seconds = 15.0 if s.quick else 60.0
    # Cron times a few hours away, so none fires inside the window, whenever the bench runs.
    hour = (dt.datetime.now(dt.timezone.utc).hour + 6) % 24
    crons = [f"{m} {hour} * * *" for m in (0, 15, 30, 45)] + [
        f"0 {hour} * * 1-5", f"30 {hour} 1 * *", f"*/10 {hour} * * *", f"0 {hour} 13 * 5",
    ]
    jobs = []
    for i in range(1000):
        schedule = "rate(1 minute)" if i % 2 == 0 else crons[(i // 2) % len(crons)]
        jobs.append({"name": f"job_{i:05d}", "schedule": schedule, "timezone": "UTC"})
    ws = workspace("watch-1000", jobs)
    # The runtime of the jobs is /bin/true: the 500 `rate(1 minute)` runs due at start then
    # cost one fork/exec each, and the figures are the watcher's own work, not Node's start-up
    # (500 Node processes at once would also need ~20 GB of memory).
    true = shutil.which("true") or "/bin/true"
    watchers = {
        "webstir": [str(WEBSTIR), "--workspace", str(ws), "scheduler", "--watch", "--node", true],
        "watch.mjs on node": [t.node, str(JS / "watch.mjs"), str(ws), "--spawn", true],
        "watch.mjs on bun": [t.bun, str(JS / "watch.mjs"), str(ws), "--spawn", true],
    }
    results = {}
    for label, argv in watchers.items():
        run = watch(argv, t.env, seconds, "watching jobs")
        if run.ready_at is None or not run.samples:
            report.skip(case, f"{label}: never reported `watching jobs` (exit {run.exit_code}): "
                        + " / ".join(run.output_tail[-3:]))
            continue
        results[label] = summarize_watch(run, seconds)
    mine = results.get("webstir")
    for label in ("watch.mjs on bun", "watch.mjs on node"):
        theirs = results.get(label)
        if theirs is None:
            continue
        headline = label == "watch.mjs on bun"
        for key, measure_name, show, limit, target in (
            ("hwm", "peak resident memory of the watcher", fmt_mb, 15 * 1024, "< 15 MB"),
            ("idle", "CPU time while idle, per minute", lambda v: f"{v * 1000:.1f} ms", 0.03, "< 30 ms"),
            ("cpu", f"CPU time of the watcher over {seconds:.0f} s (start and 500 launches included)",
             lambda v: f"{v:.3f} s", None, ""),
        ):
            judged = headline and limit is not None
            report.row(Row(
                case, measure_name, show(mine[key]) if mine else NOT_MEASURED, label, show(theirs[key]),
                fmt_ratio(mine[key], theirs[key]) if mine else "–", target if judged else "",
                verdict(mine[key] < limit if mine else None) if judged else "",
            ))
    report.detail(case, (
        f"1,000 jobs (500 `rate(1 minute)`, 500 cron schedules a few hours away), watched for "
        f"{seconds:.0f} s after the watcher prints `watching jobs`. Jobs run with /bin/true as "
        f"their runtime (webstir `--node`, watch.mjs `--spawn`), so each of the 500 runs due at "
        f"start is one fork/exec and the figures are the watcher's own. Memory is the watcher "
        f"process's VmHWM; CPU is its own utime+stime from /proc (children excluded). Idle CPU "
        f"(the larger of the /proc ticks and the threads' schedstat, which has nanosecond "
        f"resolution) is measured from 5 s after start (the launches are over) to the end of the window and "
        f"scaled to one minute. One run per watcher: the spread is not measured."
    ))


def summarize_watch(run: WatchRun, seconds: float) -> dict:
    assert run.ready_at is not None
    first = run.samples[0]
    last = run.samples[-1]
    idle_from = next((x for x in run.samples if x[0] >= run.ready_at + 5), first)
    span = last[0] - idle_from[0]
    # Ticks miss sub-10 ms work; schedstat misses threads that ended: take the larger.
    used = max(last[1] - idle_from[1], last[4] - idle_from[4])
    idle = used * 60 / span if span > 1 else float("nan")
    return {
        "hwm": max(x[3] for x in run.samples),
        "rss": last[2],
        "cpu": last[1],
        "idle": idle,
        "total_cpu": run.total_cpu,
        "first": first,
    }


# --------------------------------------------------------------------------------------------
# Case 5: fire accuracy


def case_accuracy(s: Settings, t: Tools, report: Report) -> None:
    case = "accuracy"
    seconds = 10.0 if s.quick else 30.0
    log_dir = WORK / "accuracy-logs"
    modules = {}
    for i in range(50):
        name = f"tick_{i:02d}"
        log = log_dir / f"{name}.log"
        # Two stamps per run: when run() starts and when the process started (timeOrigin),
        # which is the dispatch time for a job started in a new process.
        modules[name] = (
            'import { appendFileSync } from "node:fs";\n'
            "export async function run() {\n"
            "  const now = performance.timeOrigin + performance.now();\n"
            f"  appendFileSync({json.dumps(str(log))}, "
            "`${now} ${performance.timeOrigin} ${process.pid}\\n`);\n"
            "}\n"
        )
    jobs = [{"name": name, "schedule": "rate(1 second)"} for name in modules]
    ws = workspace("accuracy-50", jobs, modules)
    watchers = {
        "webstir, jobs on node": [str(WEBSTIR), "--workspace", str(ws), "scheduler", "--watch"],
        "webstir, jobs on bun": [str(WEBSTIR), "--workspace", str(ws), "scheduler", "--watch", "--node", t.bun],
        "watch.mjs on node, in-process": [t.node, str(JS / "watch.mjs"), str(ws)],
        "watch.mjs on bun, in-process": [t.bun, str(JS / "watch.mjs"), str(ws)],
        "watch.mjs on node, jobs on node": [t.node, str(JS / "watch.mjs"), str(ws), "--spawn", t.node],
    }
    results = {}
    for label, argv in watchers.items():
        shutil.rmtree(log_dir, ignore_errors=True)
        log_dir.mkdir(parents=True)
        run = watch(argv, t.env, seconds, "watching jobs")
        if run.ready_at is None:
            report.skip(case, f"{label}: never reported `watching jobs` (exit {run.exit_code}): "
                        + " / ".join(run.output_tail[-3:]))
            continue
        stopped = run.samples[-1][0] if run.samples else time.time()
        results[label] = lateness(log_dir, run.ready_at, seconds, stopped, run.pid, run.announced)
    costs = {name: Stat.of([x.cpu for x in measure(argv, t.env, 5)]).median
             for name, argv in (("Node", [t.node, "-e", "0"]), ("Bun", [t.bun, "-e", "0"]))}
    cores = os.cpu_count() or 1
    report.detail(case, "Capacity: starting a runtime costs " + " and ".join(
        f"{cpu * 1000:.0f} ms of CPU for {name} (so 50 runs a second need {cpu * 50:.1f} of the "
        f"machine's {cores} cores)" for name, cpu in costs.items()
    ) + ". A watcher that starts a new process per run cannot keep up when that exceeds the "
        "cores; the overlap policy (skip) then shows up as missed runs.")
    if results:
        table = ["| watcher | timer: first `running` of each second, p50 / p99 | every `running` logged, "
                 "p50 / p99 | process start (dispatch), p50 / p99 | run() start, p50 / p99 | "
                 "runs / missed / doubled |", "|---|---|---|---|---|---|"]
        for label, r in results.items():
            table.append(f"| {label} | {r['timer_p50']:.1f} / {r['timer_p99']:.1f} ms | "
                         f"{r['log_p50']:.1f} / {r['log_p99']:.1f} ms | {r['p50']:.1f} / "
                         f"{r['p99']:.1f} ms | {r['run_p50']:.1f} / {r['run_p99']:.1f} ms | "
                         f"{r['runs']} / {r['missed']} / {r['doubled']} |")
            print(f"  {label}: timer {r['timer_p50']:.1f} / {r['timer_p99']:.1f} ms, "
                  f"logged {r['log_p50']:.1f} / {r['log_p99']:.1f} ms, "
                  f"dispatch {r['p50']:.1f} / {r['p99']:.1f} ms, run() {r['run_p50']:.1f} / "
                  f"{r['run_p99']:.1f} ms, runs {r['runs']}, missed {r['missed']}, doubled {r['doubled']}",
                  flush=True)
        report.detail(case, "\n".join(table))
    pairs = (
        ("webstir, jobs on node", "watch.mjs on node, jobs on node"),
        ("webstir, jobs on bun", "watch.mjs on bun, in-process"),
    )
    for mine_label, peer_label in pairs:
        mine, theirs = results.get(mine_label), results.get(peer_label)
        if theirs is None:
            continue
        late = lambda r, a, b: f"{r[a]:.1f} / {r[b]:.1f} ms" if r else NOT_MEASURED
        counts = lambda r: f"{r['runs']} / {r['missed']} / {r['doubled']}" if r else NOT_MEASURED
        report.row(Row(case, f"{mine_label}: timer (first `running` of each second) p50 / p99",
                       late(mine, "timer_p50", "timer_p99"), peer_label, late(theirs, "timer_p50", "timer_p99"),
                       fmt_ratio(mine["timer_p50"], theirs["timer_p50"]) if mine else "–"))
        report.row(Row(case, f"{mine_label}: `running` logged, lateness p50 / p99",
                       late(mine, "log_p50", "log_p99"), peer_label, late(theirs, "log_p50", "log_p99"),
                       fmt_ratio(mine["log_p50"], theirs["log_p50"]) if mine else "–"))
        report.row(Row(case, f"{mine_label}: dispatch lateness p50 / p99", late(mine, "p50", "p99"),
                       peer_label, late(theirs, "p50", "p99"),
                       fmt_ratio(mine["p50"], theirs["p50"]) if mine else "–", "p50 < 5 ms, p99 < 20 ms",
                       verdict(mine["p50"] < 5 and mine["p99"] < 20 if mine else None)))
        report.row(Row(case, f"{mine_label}: run() lateness p50 / p99", late(mine, "run_p50", "run_p99"),
                       peer_label, late(theirs, "run_p50", "run_p99"),
                       fmt_ratio(mine["run_p50"], theirs["run_p50"]) if mine else "–"))
        report.row(Row(case, f"{mine_label}: runs / missed / doubled", counts(mine), peer_label,
                       counts(theirs), "–", "0 missed, 0 doubled",
                       verdict(mine["missed"] == 0 and mine["doubled"] == 0 if mine else None)))
    if results:
        report.detail(case, (
            f"50 jobs on `rate(1 second)` for {seconds:.0f} s. Due times are the grid start + k s. "
            f"A rate grid starts at the watcher's own start, which the harness cannot see, so the "
            f"grid is anchored at the `[jobs] running` line that came soonest after a whole second "
            f"(a scheduler never fires early): the least-late second counts as on time, and drift "
            f"and jitter show, a constant delay of every run would not. Each run appends `performance.timeOrigin + performance.now()` at the start "
            f"of run() and `performance.timeOrigin`. Lateness figures: timer = the first `running` "
            f"line of each second (how late the watcher wakes up, before it starts 50 processes "
            f"one after another); `running` logged = when "
            f"the harness read the watcher's `[jobs] running <job>` line (the timer firing, plus "
            f"the pipe); dispatch = the job's process start (timeOrigin; the run() stamp for "
            f"in-process jobs); run() = the start of run(), which includes the runtime's start-up "
            f"and is what the issue's target names. A due time with no run is "
            f"missed; two runs for one due time are doubled. Only due times at least 1 s before "
            f"the end of the window count. One run per watcher."
        ))


def lateness(log_dir: Path, ready: float, seconds: float, stopped: float, watcher_pid: int,
             announced: list[tuple[float, str]]) -> dict:
    """Lateness of every run behind its due time on the grid start + k s."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for log in sorted(log_dir.glob("*.log")):
        for line in log.read_text().splitlines():
            now_ms, origin_ms, pid = line.split()
            ran = float(now_ms) / 1000
            # A job run in the watcher's own process was launched when run() started.
            launched = ran if int(pid) == watcher_pid else float(origin_ms) / 1000
            runs.setdefault(log.stem, []).append((launched, ran))
    # A rate grid starts at the watcher's own start, which the harness cannot see: the grid is
    # anchored where the watcher's `running` lines (or, without them, the launches) say it
    # fired soonest after a whole second, since a scheduler never fires early.
    marks = [at for at, _job in announced] or [
        launched for entries in runs.values() for launched, _ in entries
    ]
    start = min(at - math.floor(at - ready + 0.05) for at in marks) if marks else ready
    last_due = int(min(seconds, stopped - start) - 1.0)
    dispatch, run_late = [], []
    missed = doubled = total = 0
    for entries in runs.values():
        seen: dict[int, int] = {}
        for launched, ran in entries:
            slot = math.floor(launched - start + 0.001)
            if slot < 0 or slot > last_due:
                continue
            seen[slot] = seen.get(slot, 0) + 1
            dispatch.append((launched - (start + slot)) * 1000)
            run_late.append((ran - (start + slot)) * 1000)
        total += sum(seen.values())
        missed += sum(1 for k in range(last_due + 1) if k not in seen)
        doubled += sum(n - 1 for n in seen.values() if n > 1)
    missed += (50 - len(runs)) * (last_due + 1)
    said = []
    first_said: dict[int, float] = {}
    for at, _job in announced:
        slot = math.floor(at - start + 0.001)
        if 0 <= slot <= last_due:
            late = (at - (start + slot)) * 1000
            said.append(late)
            first_said[slot] = min(late, first_said.get(slot, late))
    timer = list(first_said.values())
    return {
        "timer_p50": percentile(timer, 50), "timer_p99": percentile(timer, 99),
        "log_p50": percentile(said, 50), "log_p99": percentile(said, 99),
        "p50": percentile(dispatch, 50), "p99": percentile(dispatch, 99),
        "run_p50": percentile(run_late, 50), "run_p99": percentile(run_late, 99),
        "runs": total, "missed": missed, "doubled": doubled,
    }


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --------------------------------------------------------------------------------------------
# Case 6: build


def case_build(s: Settings, t: Tools, report: Report) -> None:
    if not BUILD_SCRIPT.exists():
        raise NotMeasured("bench/build/run (the build work's benchmark script) is missing")
    build_case_from_script(s, t, report)


BUILD_LINE = re.compile(r"^(?P<label>.+?)\s+median\s+(?P<median>[0-9.]+) ms\s+\(min (?P<min>[0-9.]+), max (?P<max>[0-9.]+), (?P<n>\d+) runs\)")


def build_case_from_script(s: Settings, t: Tools, report: Report) -> None:
    """Case 6 through bench/build/run, the build work's own benchmark (its spread is min–max)."""
    case = "build"
    env = dict(t.env, WEBSTIR=str(WEBSTIR), RUNS=str(s.reps(9, 3)))
    done = subprocess.run([str(BUILD_SCRIPT)], env=env, capture_output=True, text=True)
    figures = {}
    for line in done.stdout.splitlines():
        match = BUILD_LINE.match(line.strip())
        if match:
            figures[match["label"].strip()] = {k: float(match[k]) / 1000 for k in ("median", "min", "max")}
            figures[match["label"].strip()]["n"] = int(match["n"])
    if done.returncode != 0 or len(figures) < 4:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        report.skip(case, f"bench/build/run exited {done.returncode}: {message[-1] if message else 'no output'}")
        return
    show = lambda f: f"{fmt_ms(f['median'])} ({fmt_ms(f['min'])}–{fmt_ms(f['max'])}, min–max)"
    cold, warm = figures["webstir build (cold)"], figures["webstir build (unchanged)"]
    es_cold, es_again = figures["esbuild (cold)"], figures["esbuild (second run)"]
    report.row(Row(case, "cold build, 1,000 .ts files", show(cold), "esbuild", show(es_cold),
                   fmt_ratio(cold["median"], es_cold["median"]), "≤ 1× esbuild",
                   verdict(cold["median"] <= es_cold["median"])))
    report.row(Row(case, "unchanged rebuild", show(warm), "esbuild, second run (no incremental mode)",
                   show(es_again), fmt_ratio(warm["median"], es_again["median"]), "< 50 ms",
                   verdict(warm["median"] < 0.050)))
    report.detail(case, (
        f"Measured by bench/build/run (the build work's script: a generated workspace of 1,000 "
        f"TypeScript files in 100 folders, esbuild transpiling the same files one output per "
        f"input with source maps, no bundling), {cold['n']} runs each; spread is min–max."
    ))
