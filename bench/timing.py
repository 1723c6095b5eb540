"""Measuring for bench/harness.py: time one process (posix_spawn + wait4: wall time from
perf_counter, CPU time and peak resident memory from the child's rusage), sample a watcher
that keeps running, summarize samples, format figures, and collect the rows of the report."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
JS = BENCH / "js"
RESULTS = BENCH / "results.md"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()
# BENCH_WEBSTIR measures another build of webstir (bench/run then builds nothing), for example
# a branch's build before it lands on main.
WEBSTIR = Path(os.environ.get("BENCH_WEBSTIR") or TARGET / "release" / "webstir").resolve()
NEXT_TIMES = TARGET / "release" / "examples" / "next_times"
BUILD_SCRIPT = BENCH / "build" / "run"


class NotMeasured(Exception):
    """A case (or one command of it) could not run; the reason goes into the results."""


# --------------------------------------------------------------------------------------------
# Settings and tools


@dataclass
class Settings:
    quick: bool
    cases: list[str]

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass
class Tools:
    node: str
    bun: str
    env: dict[str, str]

    @staticmethod
    def find() -> Tools:
        node = shutil.which("node")
        if node is None:
            raise SystemExit("bench: Node.js is required on PATH")
        bins = BENCH / "node_modules" / ".bin"
        bun = bins / "bun"
        if not _runs([str(bun), "--version"]):
            # npm may skip the package's install script; its platform package holds the binary.
            bun = BENCH / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"
        env = dict(os.environ)
        # Every figure is taken in one zone, so "without a time zone" means UTC everywhere.
        env["TZ"] = "UTC"
        # A WEBSTIR_WORKSPACE, WEBSTIR_NODE or WEBSTIR_FIRE_TIME of the caller's shell would
        # change what is measured.
        for name in [name for name in env if name.startswith("WEBSTIR_")]:
            del env[name]
        return Tools(node=node, bun=str(bun), env=env)


def runner_support() -> str | None:
    """None when the webstir binary has the `worker` runner (`scheduler --runner`), else the
    reason its rows are skipped: main has only the process runner until the worker work lands."""
    try:
        done = subprocess.run([str(WEBSTIR), "scheduler", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`webstir scheduler --help` could not run: {error}"
    if "--runner" not in done.stdout:
        return (f"{short([str(WEBSTIR)])} has no `scheduler --runner` (the worker runner of issue 14 "
                f"is not in this build)")
    return None


def _runs(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Measuring one process


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + system, including reaped children
    maxrss_kb: int


def spawn_once(argv: list[str], env: dict[str, str]) -> tuple[int, Sample]:
    """Runs argv with stdout and stderr on /dev/null; returns its exit code and its costs."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
    ]
    began = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    return code, Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def check_output(argv: list[str], env: dict[str, str], expect=None) -> str:
    """Runs argv once with its output captured; NotMeasured unless it exits 0 (and `expect`
    accepts its stdout). Every timed command goes through this first, so a figure is never the
    time of a fast failure. The wall time of this run is kept in `last_check`."""
    global last_check
    try:
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        last_check = time.perf_counter() - began
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NotMeasured(f"`{short(argv)}` could not run: {error}") from error
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise NotMeasured(
            f"`{short(argv)}` exited {done.returncode}: {message[0] if message else 'no output'}"
        )
    if expect is not None:
        problem = expect(done.stdout)
        if problem:
            raise NotMeasured(f"`{short(argv)}`: {problem}")
    return done.stdout


# Seconds one command may take in total; a slow command gets fewer runs (see `measure`).
BUDGET = {"full": 10.0, "quick": 5.0}
budget = BUDGET["full"]
last_check = 0.0


def measure(argv, env, runs, warmup=2, before=None, checked=False) -> list[Sample]:
    """Times `runs` runs of argv after `warmup` untimed ones; `before` resets state untimed.
    A command so slow that the runs would overrun the budget runs fewer times, its first run
    counting (the caches are warm). With `checked`, the check_output run just made counts as
    the first run of a command that slow (its output went to a pipe, not /dev/null, which
    makes no difference at seconds)."""
    samples = []
    done = 0
    if checked and last_check * (warmup + runs) > budget:
        runs = max(1, min(runs, int(budget / last_check)))
        samples.append(Sample(last_check, float("nan"), 0))
        warmup = 0
        done = 1
    while len(samples) < runs:
        if before is not None:
            before()
        code, sample = spawn_once(argv, env)
        if code != 0:
            raise NotMeasured(f"`{short(argv)}` exited {code} on run {done + 1}")
        done += 1
        if done == 1 and sample.wall * (warmup + runs) > budget:
            warmup = 0
            runs = max(1, min(runs, int(budget / max(sample.wall, 1e-9))))
        if done > warmup:
            samples.append(sample)
    return samples


def short(argv: list[str]) -> str:
    def name(part: str) -> str:
        path = Path(part)
        if path.is_absolute():
            try:
                return str(path.relative_to(ROOT))
            except ValueError:
                return path.name
        return part

    return " ".join(name(p) for p in argv)


# --------------------------------------------------------------------------------------------
# Statistics and formatting


@dataclass
class Stat:
    median: float
    low: float  # 25th percentile
    high: float  # 75th percentile
    n: int

    @staticmethod
    def of(values: list[float]) -> Stat:
        ordered = sorted(values)
        if len(ordered) == 1:
            return Stat(ordered[0], ordered[0], ordered[0], 1)
        quartiles = statistics.quantiles(ordered, n=4, method="inclusive")
        return Stat(statistics.median(ordered), quartiles[0], quartiles[2], len(ordered))


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    return f"{ms:.0f} ms"


def fmt_time(stat: Stat) -> str:
    if stat.n == 1:
        return f"{fmt_ms(stat.median)} (1 run)"
    runs = f", {stat.n} runs" if stat.n < 5 else ""
    return f"{fmt_ms(stat.median)} ({fmt_ms(stat.low)}–{fmt_ms(stat.high)}{runs})"


def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k/s"
    return f"{value:.0f} /s"


def fmt_mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def fmt_ratio(webstir: float, peer: float) -> str:
    if not peer > 0 or not webstir > 0:  # also NaN: nothing measured
        return "–"
    ratio = webstir / peer
    if ratio < 0.001:
        return "< 0.001×"
    return f"{ratio:.3f}×" if ratio < 0.1 else f"{ratio:.2f}×"


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    case: str
    measure: str
    webstir: str
    peer_name: str = "–"
    peer: str = "–"
    ratio: str = "–"
    target: str = ""
    verdict: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    not_measured: dict[str, list[str]] = field(default_factory=dict)

    def row(self, row: Row) -> None:
        self.rows.append(row)
        peer = f" | {row.peer_name}: {row.peer} | ratio {row.ratio}" if row.peer_name != "–" else ""
        verdict = f" | target {row.target}: {row.verdict}" if row.target else ""
        print(f"  {row.measure}: webstir {row.webstir}{peer}{verdict}", flush=True)

    def detail(self, case: str, line: str) -> None:
        self.sections.setdefault(case, []).append(line)

    def skip(self, case: str, reason: str) -> None:
        self.not_measured.setdefault(case, []).append(reason)
        print(f"  not measured: {reason}", flush=True)


NOT_MEASURED = "not measured"


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "–"
    return "met" if ok else "missed"


# --------------------------------------------------------------------------------------------
# Watchers (cases 4 and 5)


@dataclass
class WatchRun:
    ready_at: float | None  # time.time() when the watcher said it was watching
    samples: list[tuple[float, float, int, int, float]]  # (time, CPU s, VmRSS kB, VmHWM kB, schedstat s)
    total_cpu: float  # watcher and its reaped children, from wait4
    exit_code: int
    output_tail: list[str]
    pid: int = -1
    # (time the harness read it, job) for every `[jobs] running <job>` line: when the watcher
    # says it starts a run, before the job's process exists.
    announced: list[tuple[float, str]] = field(default_factory=list)
    # (time, CPU s, VmRSS kB, processes) of the watcher's whole process tree; see tree_usage.
    tree: list[tuple[float, float, int, int]] = field(default_factory=list)


def proc_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime of the process itself


def proc_schedstat(pid: int) -> float:
    """On-CPU time of the process's live threads in seconds, with nanosecond resolution (the
    ticks of /proc/<pid>/stat are 10 ms, too coarse for an idle watcher)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def proc_children(pid: int) -> list[int]:
    children = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for tid in tids:
        try:
            children += [int(x) for x in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return children


def tree_usage(pid: int) -> tuple[float, int, int] | None:
    """CPU seconds, resident kB and process count of pid and all its descendants. The CPU of each
    live process includes the children it has reaped (cutime + cstime), so runs that started and
    ended between two samples still count, once; VmRSS is summed over the live processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = 0
    rss = 0
    count = 0
    pending = [pid]
    seen = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            if current == pid:
                return None
            continue
        # Fields after the command: state is [0], so utime, stime, cutime, cstime are [11]-[14].
        cpu += sum(int(x) for x in fields[11:15])
        memory = proc_memory(current)
        rss += memory[0] if memory else 0
        count += 1
        pending += proc_children(current)
    return cpu / ticks, rss, count


def proc_memory(pid: int) -> tuple[int, int] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    if len(values) != 2:
        return None
    return values["VmRSS"], values["VmHWM"]


def watch(argv: list[str], env: dict[str, str], seconds: float, ready_text: str) -> WatchRun:
    """Starts a watcher, samples its own CPU time and memory, and those of its whole process tree
    (its workers or job processes), every 0.25 s for `seconds` after it reports `ready_text` on
    stdout, then stops it with SIGTERM."""
    try:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, bufsize=1)
    except OSError as error:
        return WatchRun(None, [], float("nan"), -1, [f"could not start: {error}"])
    ready = threading.Event()
    ready_at: list[float] = []
    tail: list[str] = []
    announced: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("[jobs] running "):
                announced.append((time.time(), line.split()[2]))
            if not ready.is_set() and ready_text in line:
                ready_at.append(time.time())
                ready.set()
            tail.append(line.rstrip("\n"))
            if len(tail) > 400:
                del tail[:200]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    samples = []
    tree: list[tuple[float, float, int, int]] = []
    deadline = time.time() + 30
    while not ready.is_set() and proc.poll() is None and time.time() < deadline:
        ready.wait(0.05)
    if ready.is_set():
        end = ready_at[0] + seconds
        while time.time() < end and proc.poll() is None:
            sample(proc.pid, samples, tree)
            time.sleep(min(0.25, max(0.0, end - time.time())))
    if proc.poll() is None:
        sample(proc.pid, samples, tree)
        proc.send_signal(signal.SIGTERM)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        total = usage.ru_utime + usage.ru_stime
    except ChildProcessError:
        code, total = proc.wait(), float("nan")
    deadline = time.time() + 20
    while reader.is_alive() and time.time() < deadline:
        reader.join(0.5)
    return WatchRun(ready_at[0] if ready_at else None, samples, total, code, tail, proc.pid, announced, tree)


def sample(pid: int, samples: list, tree: list) -> None:
    at = time.time()
    cpu, memory = proc_cpu(pid), proc_memory(pid)
    if cpu is not None and memory is not None:
        samples.append((at, cpu, memory[0], memory[1], proc_schedstat(pid)))
    usage = tree_usage(pid)
    if usage is not None:
        tree.append((at, *usage))
