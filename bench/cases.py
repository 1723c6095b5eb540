"""Cases 1-4 and 6 of bench/harness.py (case 5 is in accuracy.py), and the inputs they generate
in bench/work."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import os
import shutil
import subprocess
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
    runner_support,
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


LIST_COMMANDS = ("webstir scheduler --list", "build/backend/jobs/scheduler --list", "webstir backend-inspect --json")
# Issue 14's targets at 10,000 jobs.
LIST_TARGETS = {
    "webstir scheduler --list": 0.030,
    "build/backend/jobs/scheduler --list": 0.030,
    "webstir backend-inspect --json": 0.050,
}
# The exponent of a growth that counts as linear in the manifest's size: least squares on a few
# noisy medians, and fixed costs (start-up) pull it below 1.
LINEAR = 1.1


def case_list(s: Settings, t: Tools, report: Report) -> None:
    case = "list"
    runs = s.reps(30, 5)
    floors = {}
    for label, argv in (("node -e 0", [t.node, "-e", "0"]), ("bun -e 0", [t.bun, "-e", "0"])):
        floors[label] = Stat.of([x.wall for x in measure(argv, t.env, runs)])
    # The peers run at 10 and 10,000 jobs; webstir also at the sizes between, for the growth.
    sizes = (10, 2000, 10_000) if s.quick else (10, 1000, 2000, 5000, 10_000)
    growth: dict[str, list[tuple[float, float]]] = {label: [] for label in LIST_COMMANDS}
    sizes_table = []
    for count in sizes:
        jobs = [job_entry(i, SCHEDULES[i % len(SCHEDULES)]) for i in range(count)]
        ws = workspace(f"list-{count}", jobs)
        megabytes = (ws / "package.json").stat().st_size / 1_000_000
        lines = lambda out, n=count: None if len(out.splitlines()) >= n else (
            f"printed {len(out.splitlines())} lines for {n} jobs"
        )
        peers = {}
        for runtime, exe in (("node", t.node), ("bun", t.bun)):
            if count not in (10, 10_000):
                continue
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
        cells = []
        for label, argv in commands.items():
            stat = None
            try:
                check_output(argv, t.env, checks[label])
                stat = Stat.of([x.wall for x in measure(argv, t.env, runs, checked=True)])
            except NotMeasured as why:
                report.skip(case, f"{label} at {count} jobs: {why}")
            cells.append(fmt_time(stat) if stat else NOT_MEASURED)
            if stat and count >= 1000:
                growth[label].append((megabytes, stat.median))
            for runtime, peer in peers.items():
                target = ""
                if count == 10 and runtime == "bun":
                    target = "≤ 0.1× Bun"
                    ok = stat.median <= 0.1 * peer.median if stat else None
                elif count == 10_000:
                    limit = LIST_TARGETS[label]
                    target = f"< {limit * 1000:.0f} ms"
                    ok = stat.median < limit if stat else None
                report.row(Row(
                    case, f"`{label}`, {count:,} jobs", fmt_time(stat) if stat else NOT_MEASURED,
                    f"list.mjs on {runtime}", fmt_time(peer),
                    fmt_ratio(stat.median, peer.median) if stat else "–", target,
                    verdict(ok) if target else "",
                ))
        sizes_table.append(f"| {count:,} | {megabytes:.2f} MB | " + " | ".join(cells) + " |")
    for label, points in growth.items():
        growth_row(case, f"`{label}`", points, None, report)
    for label, stat in floors.items():
        report.row(Row(case, f"floor: `{label}`", "–", label, fmt_time(stat)))
    report.detail(case, "\n".join([
        "| jobs | package.json | " + " | ".join(f"`{label}`" for label in LIST_COMMANDS) + " |",
        "|---|---|---|---|---|",
        *sizes_table,
    ]))
    report.detail(case, (
        f"{runs} timed runs per command after 2 warm-up runs (fewer, and shown, when a command "
        f"would take more than {timing.budget:.0f} s in all); wall time, median (p25–p75). The "
        f"peers run at 10 and 10,000 jobs only. Growth: the exponent k of time ∝ size^k, fitted "
        f"by least squares on log(median) against log(package.json bytes) over the sizes of "
        f"1,000 jobs and more; 1 is linear, 2 quadratic, and a fixed cost (start-up) pulls it "
        f"below 1."
    ))


def growth_row(case: str, what: str, points: list[tuple[float, float]],
               peer: tuple[str, list[tuple[float, float]]] | None, report: Report) -> None:
    """A row with the fitted exponent of time against manifest size (see exponent)."""
    if len(points) < 2:
        report.skip(case, f"growth of {what}: fewer than 2 sizes measured")
        return
    mine = exponent(points)
    theirs = exponent(peer[1]) if peer and len(peer[1]) >= 2 else None
    sizes = f"{len(points)} sizes, {points[0][0]:.2f}–{points[-1][0]:.2f} MB"
    report.row(Row(
        case, f"growth of {what} with the manifest's size: fitted exponent ({sizes})", f"{mine:.2f}",
        peer[0] if peer and theirs is not None else "–", f"{theirs:.2f}" if theirs is not None else "–",
        "–", f"≤ {LINEAR} (linear)", verdict(mine <= LINEAR),
    ))


def exponent(points: list[tuple[float, float]]) -> float:
    slope, _, _ = linear_fit([(math.log(x), math.log(y)) for x, y in points])
    return slope


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
    points: dict[str, list[tuple[float, float]]] = {"webstir": [], "bun": [], "node": []}
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
        for label, stat in stats.items():
            points[label].append((megabytes, stat.median))
        for runtime in ("bun", "node"):
            if runtime not in stats:
                continue
            big = count == 5000
            report.row(Row(
                case, f"`add-job`, {count:,} jobs ({megabytes:.2f} MB)",
                fmt_time(mine) if mine else NOT_MEASURED,
                f"add_job.mjs on {runtime}", fmt_time(stats[runtime]),
                fmt_ratio(mine.median, stats[runtime].median) if mine else "–",
                "< 15 ms" if big else "",
                verdict(mine.median < 0.015 if mine else None) if big else "",
            ))
    growth_row(case, "`add-job`", points["webstir"], ("add_job.mjs on bun", points["bun"]), report)
    if len(points["webstir"]) >= 2:
        slope, intercept, worst = linear_fit(points["webstir"])
        report.detail(case, (
            f"Growth of webstir's median time with the file size: time ∝ size^"
            f"{exponent(points['webstir']):.2f} (least squares on log–log; linear growth is an "
            f"exponent near 1, quadratic near 2). Straight-line fit: {intercept * 1000:.1f} ms + "
            f"{slope * 1000:.1f} ms per MB, largest deviation of a point from it {worst * 1000:.1f} ms."
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
    if not NEXT_TIMES.exists():
        raise NotMeasured(f"{NEXT_TIMES} is missing (bench/run builds it unless BENCH_WEBSTIR is set)")
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
    # The worker runner imports the jobs into Node workers, so its jobs run on Node, and so do
    # its peers' here: the JavaScript watcher importing them in its own process.
    why_not_worker = runner_support()
    if why_not_worker:
        report.skip(case, f"the worker runner's rows: {why_not_worker}")
    else:
        watchers[WORKER] = [str(WEBSTIR), "--workspace", str(ws), "scheduler", "--watch", "--runner", "worker"]
    watchers["watch.mjs on node, in-process"] = [t.node, str(JS / "watch.mjs"), str(ws)]
    watchers["watch.mjs on bun, in-process"] = [t.bun, str(JS / "watch.mjs"), str(ws)]
    results = {}
    for label, argv in watchers.items():
        run = watch(argv, t.env, seconds, "watching jobs")
        if run.ready_at is None or not run.samples:
            report.skip(case, f"{label}: never reported `watching jobs` (exit {run.exit_code}): "
                        + " / ".join(run.output_tail[-3:]))
            continue
        results[label] = summarize_watch(run, seconds)
        print(f"  {label}: peak {fmt_mb(results[label]['hwm'])} (tree {fmt_mb(results[label]['tree_peak'])} "
              f"in {results[label]['procs']} processes), idle {results[label]['idle'] * 1000:.1f} ms/min",
              flush=True)
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
    worker_memory_rows(case, results, report)
    if results:
        report.detail(case, "\n".join([
            "| watcher | peak VmHWM of the watcher | process tree: peak VmRSS sum (at the end) | processes |",
            "|---|---|---|---|",
            *(f"| {label} | {fmt_mb(r['hwm'])} | {fmt_mb(r['tree_peak'])} ({fmt_mb(r['tree_end'])}) | {r['procs']} |"
              for label, r in results.items()),
        ]))
    report.detail(case, (
        f"1,000 jobs (500 `rate(1 minute)`, 500 cron schedules a few hours away), watched for "
        f"{seconds:.0f} s after the watcher prints `watching jobs`. Jobs run with /bin/true as "
        f"their runtime (webstir `--node`, watch.mjs `--spawn`), so each of the 500 runs due at "
        f"start is one fork/exec and the figures are the watcher's own. Memory is the watcher "
        f"process's VmHWM; CPU is its own utime+stime from /proc (children excluded). Idle CPU "
        f"(the larger of the /proc ticks and the threads' schedstat, which has nanosecond "
        f"resolution) is measured from 5 s after start (the launches are over) to the end of the window and "
        f"scaled to one minute. The worker runner (`--runner worker`) and the in-process "
        f"watch.mjs run the 500 jobs due at start on a real runtime instead (Node; Bun for the "
        f"last): their memory is that of the whole process tree, the watcher plus its workers, the "
        f"sum of VmRSS sampled every 0.25 s (its peak and its value at the end). One run per "
        f"watcher: the spread is not measured."
    ))


WORKER = "webstir, worker runner (jobs on node)"


def worker_memory_rows(case: str, results: dict[str, dict], report: Report) -> None:
    mine = results.get(WORKER)
    for peer_label in ("watch.mjs on node, in-process", "watch.mjs on bun, in-process"):
        theirs = results.get(peer_label)
        if theirs is None:
            continue
        for key, what in (("tree_peak", "peak"), ("tree_end", "at the end of the window")):
            report.row(Row(
                case, f"{WORKER}: resident memory of the watcher and its workers, {what}",
                fmt_mb(mine[key]) if mine else NOT_MEASURED, peer_label, fmt_mb(theirs[key]),
                fmt_ratio(mine[key], theirs[key]) if mine else "–",
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
    tree = run.tree or [(0.0, 0.0, 0, 0)]
    return {
        "tree_peak": max(x[2] for x in tree),
        "tree_end": tree[-1][2],
        "procs": max(x[3] for x in tree),
        "hwm": max(x[3] for x in run.samples),
        "rss": last[2],
        "cpu": last[1],
        "idle": idle,
        "total_cpu": run.total_cpu,
        "first": first,
    }


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
