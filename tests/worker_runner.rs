//! The `worker` runner: warm Node processes that import a job once and run many runs, with the
//! process runner's guarantees (a run that throws, rejects or exits fails alone; a worker that
//! crashes or hangs is replaced; timeout and `replace` stop it; a rebuilt module is used; workers
//! are recycled; SIGTERM and SIGKILL leave no process behind). Every test uses real Node.

mod scheduler_support;

use scheduler_support::{Running, Ws, gone};

/// Waits until `n` lines (stdout and stderr together, whichever order their reader threads
/// delivered them in) satisfy `pred`, and returns them in the order seen per stream.
fn seen_at_least(
    running: &mut Running,
    what: &str,
    n: usize,
    pred: impl Fn(&str) -> bool,
) -> Vec<String> {
    loop {
        let seen: Vec<String> = running
            .stdout
            .iter()
            .chain(&running.stderr)
            .filter(|l| pred(l))
            .cloned()
            .collect();
        if seen.len() >= n {
            return seen;
        }
        running.wait_for(what, &pred);
    }
}

/// The pid a job printed as `<tag> <pid> ...`.
fn pid_of(line: &str, tag: &str) -> i32 {
    line.split_once(&format!("{tag} "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid after {tag:?} in {line:?}"))
}

#[test]
fn a_worker_imports_the_module_once_and_gives_each_run_its_own_environment() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "rate(1 second)", "runner": "worker" }]"#);
    ws.job(
        "tick",
        r#"let count = 0;
console.log('imported');
export function run() {
  count += 1;
  const leaked = process.env.LEFT_BY_AN_EARLIER_RUN ?? 'none';
  process.env.LEFT_BY_AN_EARLIER_RUN = 'yes';
  console.log(`run ${process.pid} ${count} ${process.env.WEBSTIR_JOB} ${process.env.WEBSTIR_ATTEMPT} ${leaked} ${process.env.WEBSTIR_FIRE_TIME}`);
}
"#,
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(running.wait_for("a run", |l| l.starts_with("[tick] run ")));
    }
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0), "{:?}", done.stderr);
    let fields: Vec<Vec<&str>> = runs
        .iter()
        .map(|l| l.split_whitespace().skip(2).collect())
        .collect();
    // One process, one import, module state kept between runs.
    assert!(fields.iter().all(|f| f[0] == fields[0][0]), "{runs:?}");
    assert_eq!(
        done.stdout
            .iter()
            .filter(|l| *l == "[tick] imported")
            .count(),
        1
    );
    let counts: Vec<&str> = fields.iter().map(|f| f[1]).collect();
    assert_eq!(counts, ["1", "2", "3"]);
    // Each run's environment: the run's own variables, nothing an earlier run set.
    for f in &fields {
        assert_eq!(&f[2..5], ["tick", "1", "none"], "{runs:?}");
    }
    let fire_times: std::collections::BTreeSet<&str> = fields.iter().map(|f| f[5]).collect();
    assert_eq!(fire_times.len(), 3, "{runs:?}");
}

#[test]
fn a_run_that_throws_rejects_or_exits_fails_alone() {
    let ws = Ws::new(
        r#"[
      { "name": "thrower", "runner": "worker" },
      { "name": "rejecter", "runner": "worker" },
      { "name": "exiter", "runner": "worker" },
      { "name": "missing-run", "runner": "worker" },
      { "name": "fine", "runner": "worker" }
    ]"#,
    );
    ws.job(
        "thrower",
        "export function run() { throw new Error('boom'); }\n",
    );
    ws.job(
        "rejecter",
        "export async function run() { await null; throw new TypeError('nope'); }\n",
    );
    ws.job(
        "exiter",
        "export function run() { console.log('leaving'); process.exit(3); }\n",
    );
    ws.job("missing-run", "export const x = 1;\n");
    ws.job(
        "fine",
        "export function run() { console.log('fine ran'); }\n",
    );
    let out = ws.scheduler(&["--all"]).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for line in [
        "[jobs] thrower failed: boom",
        "[jobs] rejecter failed: nope",
        "[jobs] exiter failed: exited with status 3",
        "[jobs] 4 of 5 job run(s) failed: thrower, rejecter, exiter, missing-run",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line}\n{stderr}");
    }
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("[jobs] missing-run failed: ")
                && l.contains("exports no `run` function")),
        "{stderr}"
    );
    assert!(stdout.lines().any(|l| l == "[exiter] leaving"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "[fine] fine ran"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[jobs] fine completed in ")),
        "{stdout}"
    );
}

#[test]
fn process_exit_kills_only_its_worker_which_is_replaced() {
    let ws = Ws::new(
        r#"[
      { "name": "exiter", "schedule": "rate(1 second)", "runner": "worker" },
      { "name": "steady", "schedule": "rate(1 second)", "runner": "worker" }
    ]"#,
    );
    ws.job(
        "exiter",
        "export function run() { console.log(`exiting ${process.pid}`); process.exit(3); }\n",
    );
    ws.job(
        "steady",
        "export function run() { console.log(`steady ${process.pid}`); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let exits = seen_at_least(&mut running, "two runs that exit", 2, |l| {
        l.starts_with("[exiter] exiting ")
    });
    seen_at_least(&mut running, "their failures", 2, |l| {
        l == "[jobs] exiter failed: exited with status 3"
    });
    assert_ne!(pid_of(&exits[0], "exiting"), pid_of(&exits[1], "exiting"));
    assert!(gone(pid_of(&exits[0], "exiting")));
    // The other job kept its own worker all along.
    let steady = seen_at_least(&mut running, "the other job twice", 2, |l| {
        l.starts_with("[steady] steady ")
    });
    assert_eq!(steady[0], steady[1]);
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
}

#[test]
fn a_worker_killed_from_outside_fails_its_run_and_is_replaced_while_other_jobs_fire() {
    let ws = Ws::new(
        r#"[
      { "name": "victim", "schedule": "rate(1 second)", "runner": "worker" },
      { "name": "steady", "schedule": "rate(1 second)", "runner": "worker" }
    ]"#,
    );
    ws.job(
        "victim",
        r#"export async function run() {
  console.log(`victim ${process.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#,
    );
    ws.job(
        "steady",
        "export function run() { console.log('steady'); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let first = running.wait_for("the victim's worker", |l| l.starts_with("[victim] victim "));
    let pid = pid_of(&first, "victim");
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let steady_before = running
        .stdout
        .iter()
        .filter(|l| *l == "[steady] steady")
        .count();
    seen_at_least(&mut running, "the run's failure", 1, |l| {
        l == "[jobs] victim failed: killed by SIGKILL"
    });
    let victims = seen_at_least(&mut running, "a new worker", 2, |l| {
        l.starts_with("[victim] victim ")
    });
    let next = victims[1].clone();
    assert_ne!(pid_of(&next, "victim"), pid);
    seen_at_least(
        &mut running,
        "the other job, twice more",
        steady_before + 2,
        |l| l == "[steady] steady",
    );
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert!(gone(pid_of(&next, "victim")));
}

#[test]
fn a_hung_worker_is_killed_at_the_timeout_and_replaced_while_other_jobs_fire() {
    let ws = Ws::new(
        r#"[
      { "name": "spin", "schedule": "rate(1 second)", "runner": "worker", "timeout": "3s" },
      { "name": "steady", "schedule": "rate(1 second)", "runner": "worker" }
    ]"#,
    );
    ws.job(
        "spin",
        "export function run() { console.log(`spinning ${process.pid}`); for (;;) {} }\n",
    );
    ws.job(
        "steady",
        "export function run() { console.log('steady'); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let first = running.wait_for("the hang", |l| l.starts_with("[spin] spinning "));
    // While one worker spins, the other job still runs in another.
    let steady_before = running
        .stdout
        .iter()
        .filter(|l| *l == "[steady] steady")
        .count();
    seen_at_least(
        &mut running,
        "the other job, twice more",
        steady_before + 2,
        |l| l == "[steady] steady",
    );
    seen_at_least(&mut running, "the time limit", 1, |l| {
        l == "[jobs] spin failed: timed out after 3s"
    });
    assert!(gone(pid_of(&first, "spinning")));
    let spins = seen_at_least(&mut running, "a new worker", 2, |l| {
        l.starts_with("[spin] spinning ")
    });
    let next = spins[1].clone();
    assert_ne!(pid_of(&next, "spinning"), pid_of(&first, "spinning"));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert!(gone(pid_of(&next, "spinning")));
}

#[test]
fn overlap_replace_stops_the_worker_after_the_grace_period() {
    let ws = Ws::new(
        r#"[{ "name": "stubborn", "schedule": "rate(1 second)", "runner": "worker", "overlap": "replace" }]"#,
    );
    ws.job(
        "stubborn",
        r#"export async function run() {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  console.log(`stubborn ${process.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#,
    );
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "1s"]);
    let first = running.wait_for("the run", |l| l.starts_with("[stubborn] stubborn "));
    seen_at_least(&mut running, "the job to see SIGTERM", 1, |l| {
        l == "[stubborn] ignoring SIGTERM"
    });
    seen_at_least(&mut running, "the kill", 1, |l| {
        l == "[jobs] stubborn failed: killed after the 1s grace period"
    });
    assert!(gone(pid_of(&first, "stubborn")));
    let runs = seen_at_least(&mut running, "the replacing run", 2, |l| {
        l.starts_with("[stubborn] stubborn ")
    });
    let next = runs[1].clone();
    assert_ne!(pid_of(&next, "stubborn"), pid_of(&first, "stubborn"));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert!(gone(pid_of(&next, "stubborn")));
}

#[test]
fn the_next_run_uses_the_module_webstir_build_rewrote() {
    let ws = Ws::new(r#"[{ "name": "pick", "schedule": "rate(1 second)", "runner": "worker" }]"#);
    ws.file(
        "src/backend/jobs/pick/index.ts",
        "export function run(): void { console.log(`v1 ${process.pid}`); }\n",
    );
    ws.webstir(&["build"]).assert().success();
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let old = running.wait_for("a run of the first build", |l| l.starts_with("[pick] v1 "));
    ws.file(
        "src/backend/jobs/pick/index.ts",
        "export function run(): void { console.log(`v2 ${process.pid}`); }\n",
    );
    ws.webstir(&["build"]).assert().success();
    let new = running.wait_for("a run of the new build", |l| l.starts_with("[pick] v2 "));
    assert_ne!(pid_of(&new, "v2"), pid_of(&old, "v1"));
    assert!(gone(pid_of(&old, "v1")), "the stale worker was let go");
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

/// Runs `tick` (which prints its worker's pid) four times under `toml` and returns the pids.
fn pids_of_four_runs(toml: &str) -> Vec<i32> {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "rate(1 second)", "runner": "worker" }]"#);
    ws.file("webstir.toml", toml);
    ws.job(
        "tick",
        "export function run() { console.log(`pid ${process.pid}`); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let pids = (0..4)
        .map(|_| {
            pid_of(
                &running.wait_for("a run", |l| l.starts_with("[tick] pid ")),
                "pid",
            )
        })
        .collect();
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
    pids
}

#[test]
fn workers_are_replaced_after_worker_max_runs() {
    let pids = pids_of_four_runs("worker-max-runs = \"2\"\n");
    assert_eq!(pids[0], pids[1], "{pids:?}");
    assert_eq!(pids[2], pids[3], "{pids:?}");
    assert_ne!(pids[1], pids[2], "{pids:?}");
}

#[test]
fn workers_above_worker_max_memory_are_replaced_after_their_run() {
    // Every Node process is larger than 1 MiB: each run gets a fresh worker.
    let pids = pids_of_four_runs("worker-max-memory = \"1MiB\"\n");
    let distinct: std::collections::BTreeSet<i32> = pids.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "{pids:?}");
}

const LONG_RUNNER: &str = r#"import { spawn } from 'node:child_process';
export async function run() {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  console.log(`pids ${process.pid} ${child.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#;

/// Live processes running this workspace's worker script (prestarted idle workers included).
fn workers_of(ws: &Ws) -> Vec<i32> {
    let script = ws.path("build/backend/jobs/webstir-worker.mjs");
    let script = script.to_string_lossy();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(script.as_ref())
            && scheduler_support::alive(pid)
        {
            pids.push(pid);
        }
    }
    pids
}

/// Waits for every worker of `ws` to be gone.
fn no_workers_left(ws: &Ws) -> bool {
    let deadline = std::time::Instant::now() + scheduler_support::PATIENCE;
    while std::time::Instant::now() < deadline {
        if workers_of(ws).is_empty() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

fn pids(line: &str) -> Vec<i32> {
    line.split_whitespace()
        .skip(2)
        .map(|p| p.parse().expect("pid"))
        .collect()
}

#[test]
fn sigterm_stops_busy_and_idle_workers_leaving_no_process() {
    let ws = Ws::new(
        r#"[
      { "name": "long", "schedule": "@reboot" },
      { "name": "ticker", "schedule": "rate(5 minutes)" }
    ]"#,
    );
    ws.job("long", LONG_RUNNER);
    ws.job(
        "ticker",
        "export function run() { console.log(`tick ${process.pid}`); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "5s", "--runner", "worker"]);
    let line = running.wait_until_seen("the job's pids", |l| l.starts_with("[long] pids "));
    let tick = running.wait_until_seen("the rate job's run", |l| l.starts_with("[ticker] tick "));
    running.wait_until_seen("the rate job's completion", |l| {
        l.starts_with("[jobs] ticker completed in ")
    });
    assert!(workers_of(&ws).len() >= 2, "{:?}", workers_of(&ws));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0), "stderr: {:?}", done.stderr);
    assert!(
        done.stderr
            .contains(&"[jobs] long failed: stopped by the scheduler".to_owned()),
        "{:?}",
        done.stderr
    );
    for pid in pids(&line).into_iter().chain([pid_of(&tick, "tick")]) {
        assert!(gone(pid), "process {pid} outlived the scheduler");
    }
    assert!(no_workers_left(&ws), "workers left: {:?}", workers_of(&ws));
}

#[test]
fn workers_and_their_children_die_with_a_scheduler_killed_by_sigkill() {
    let ws = Ws::new(r#"[{ "name": "long", "runner": "worker" }]"#);
    ws.job("long", LONG_RUNNER);
    let mut running = ws.spawn_scheduler(&["--job", "long"]);
    let line = running.wait_for("the job's pids", |l| l.starts_with("[long] pids "));
    running.signal(libc::SIGKILL);
    let done = running.finish();
    assert_eq!(done.code, None, "killed by a signal");
    for pid in pids(&line) {
        assert!(gone(pid), "process {pid} outlived a SIGKILLed scheduler");
    }
    assert!(no_workers_left(&ws), "workers left: {:?}", workers_of(&ws));
}

#[test]
fn backend_inspect_shows_the_runner() {
    let ws = Ws::new(r#"[{ "name": "a", "runner": "worker" }, { "name": "b" }]"#);
    let out = ws
        .webstir(&["backend-inspect", "--json"])
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["jobs"][0]["runner"], "worker", "{json}");
    assert_eq!(json["jobs"][1].get("runner"), None, "{json}");
    let out = ws.webstir(&["backend-inspect"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l == "  - a (runner: worker)"),
        "{text}"
    );
}

#[test]
fn the_runner_flag_wins_over_the_job_which_wins_over_webstir_toml() {
    let ws = Ws::new(r#"[{ "name": "own", "runner": "process" }, { "name": "default" }]"#);
    ws.file("webstir.toml", "runner = \"worker\"\n");
    // Which script started the process a run is in says which runner ran it.
    let js = "import { basename } from 'node:path';\nexport function run() { console.log(`by ${basename(process.argv[1])}`); }\n";
    ws.job("own", js);
    ws.job("default", js);
    let run = |args: &[&str]| {
        let out = ws.scheduler(args).output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once("] by ").map(|(_, script)| script.to_owned()))
            .collect::<Vec<_>>()
    };
    let process = "webstir-runner.mjs";
    let worker = "webstir-worker.mjs";
    // `own` keeps its process runner; `default` takes webstir.toml's worker.
    assert_eq!(run(&["--all"]), [process, worker]);
    assert_eq!(run(&["--all", "--runner", "worker"]), [worker, worker]);
    assert_eq!(run(&["--all", "--runner", "process"]), [process, process]);
}

#[test]
fn a_bad_runner_is_refused_with_the_accepted_values() {
    let ws = Ws::new(r#"[{ "name": "a", "runner": "thread" }]"#);
    ws.job("a", "export function run() {}\n");
    let out = ws.scheduler(&["--all"]).output().expect("run");
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`runner` \"thread\": expected `process` or `worker`"),
        "{stderr}"
    );

    let ws = Ws::new(r#"[{ "name": "a" }]"#);
    ws.job("a", "export function run() {}\n");
    ws.file("webstir.toml", "runner = \"thread\"\n");
    let before = ws.read("webstir.toml");
    let out = ws.scheduler(&["--all"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("webstir.toml:1:10: `runner`: expected `process` or `worker`"),
        "{stderr}"
    );
    assert_eq!(ws.read("webstir.toml"), before);

    let out = ws
        .scheduler(&["--all", "--runner", "thread"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("process") && stderr.contains("worker"),
        "{stderr}"
    );
}

#[test]
fn the_log_shows_the_same_lines_under_both_runners() {
    let ws = Ws::new(r#"[{ "name": "chatty" }, { "name": "quiet" }]"#);
    ws.job(
        "chatty",
        r#"import { writeSync } from 'node:fs';
export async function run() {
  console.log('one\ntwo');
  process.stdout.write('no newline yet');
  process.stdout.write(' ... now\n');
  process.stdout.write(Buffer.from('from a buffer\n'));
  console.error('to stderr');
  console.log('x'.repeat(70000) + 'end');
  console.log('lone \ud800 surrogate');
  await new Promise((resolve) => setTimeout(resolve, 10));
  writeSync(1, 'straight to fd 1\n');
  process.stdout.write('last line without newline');
}
"#,
    );
    ws.job("quiet", "export function run() {}\n");
    let run = |runner: &str| {
        let out = ws
            .scheduler(&["--all", "--runner", runner])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let normal = |bytes: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(|l| match l.split_once(" completed in ") {
                    Some((start, _)) => format!("{start} completed"),
                    None => l.to_owned(),
                })
                .collect()
        };
        (normal(&out.stdout), normal(&out.stderr))
    };
    let (process_out, process_err) = run("process");
    let (worker_out, worker_err) = run("worker");
    assert_eq!(worker_out, process_out);
    assert_eq!(worker_err, process_err);
    assert!(
        worker_out
            .iter()
            .any(|l| l == "[chatty] no newline yet ... now"),
        "{worker_out:?}"
    );
    assert!(
        worker_out.iter().any(|l| l == "[chatty] straight to fd 1"),
        "{worker_out:?}"
    );
}

#[test]
fn each_tenant_run_sees_its_own_tenant_and_a_later_run_none() {
    let ws = Ws::new(
        r#"[
      { "name": "fanout", "tenants": ["acme", "globex"], "runner": "worker" },
      { "name": "plain", "runner": "worker" }
    ]"#,
    );
    // One worker: every run goes through the same process, one after another.
    ws.file("webstir.toml", "worker-pool = \"1\"\n");
    let js = "export function run() { console.log(`tenant ${process.env.WEBSTIR_TENANT_ID ?? 'none'} ${process.pid}`); }\n";
    ws.job("fanout", js);
    ws.job("plain", js);
    let out = ws.scheduler(&["--all"]).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Vec<(&str, &str)> = stdout
        .lines()
        .filter_map(|l| l.split_once("] tenant "))
        .map(|(_, rest)| rest.split_once(' ').expect("tenant and pid"))
        .collect();
    let tenants: Vec<&str> = seen.iter().map(|(t, _)| *t).collect();
    assert_eq!(tenants, ["acme", "globex", "none"], "{stdout}");
    assert!(seen.iter().all(|(_, pid)| *pid == seen[0].1), "{stdout}");
}

#[test]
fn a_worker_whose_job_ignores_sigterm_is_killed_after_the_grace_period() {
    let ws = Ws::new(
        r#"[{ "name": "stubborn", "schedule": "@reboot" }, { "name": "t", "schedule": "rate(1 hour)" }]"#,
    );
    ws.job(
        "stubborn",
        r#"export async function run() {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  console.log(`pids ${process.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#,
    );
    ws.job("t", "export function run() {}\n");
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "1s", "--runner", "worker"]);
    let line = running.wait_for("the job's pid", |l| l.starts_with("[stubborn] pids "));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert!(
        done.stdout
            .contains(&"[stubborn] ignoring SIGTERM".to_owned()),
        "{:?}",
        done.stdout
    );
    assert!(
        done.stderr
            .contains(&"[jobs] stubborn failed: killed after the 1s grace period".to_owned()),
        "{:?}",
        done.stderr
    );
    for pid in pids(&line) {
        assert!(gone(pid));
    }
    assert!(no_workers_left(&ws), "workers left: {:?}", workers_of(&ws));
}

/// The Bun executable: `WEBSTIR_TEST_BUN`, else `bun` on PATH.
fn bun() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("WEBSTIR_TEST_BUN").filter(|p| !p.is_empty()) {
        return Some(path.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("bun"))
        .find(|path| path.is_file())
}

#[test]
fn workers_run_on_bun_with_each_runs_output_attributed() {
    let Some(bun) = bun() else {
        println!("skipped: no Bun (set WEBSTIR_TEST_BUN or put `bun` on PATH)");
        return;
    };
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "rate(1 second)", "runner": "worker" }]"#);
    ws.job(
        "tick",
        r#"let count = 0;
export function run() {
  count += 1;
  console.log(`run ${process.pid} ${count} ${process.env.WEBSTIR_ATTEMPT}`);
  console.error(`err ${count}`);
}
"#,
    );
    let bun = bun.to_string_lossy().into_owned();
    let mut running = ws.spawn_scheduler(&["--watch", "--node", &bun]);
    let runs = seen_at_least(&mut running, "three runs", 3, |l| {
        l.starts_with("[tick] run ")
    });
    seen_at_least(&mut running, "three error lines", 3, |l| {
        l.starts_with("[tick] err ")
    });
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0), "{:?}", done.stderr);
    let fields: Vec<Vec<&str>> = runs
        .iter()
        .map(|l| l.split_whitespace().skip(2).collect())
        .collect();
    // One warm Bun process ran them all, each to its end (no run skipped as an overlap).
    assert!(fields.iter().all(|f| f[0] == fields[0][0]), "{runs:?}");
    assert_eq!(
        fields.iter().map(|f| f[1]).take(3).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert!(
        !done
            .stdout
            .iter()
            .chain(&done.stderr)
            .any(|l| l.contains("previous run is still active")),
        "{:?}",
        done.stderr
    );
}

/// Runs the workspace's `@reboot` jobs in a watching scheduler (`extra` added to its
/// arguments) until `n` runs ended, stops it, and returns its stdout and stderr.
fn reboot_runs(ws: &Ws, extra: &[&str], n: usize) -> (String, String) {
    let mut args = vec!["--watch"];
    args.extend_from_slice(extra);
    let mut running = ws.spawn_scheduler(&args);
    seen_at_least(&mut running, "the runs to end", n, |l| {
        l.starts_with("[jobs] ") && (l.contains(" completed in ") || l.contains(" failed: "))
    });
    running.signal(libc::SIGTERM);
    // Its exit status says whether the @reboot runs failed, which each test checks itself.
    let done = running.finish();
    (done.stdout.join("\n"), done.stderr.join("\n"))
}

/// A job module that marks its start in `<job>.started`, waits until every job in `others`
/// started (so that all of them are in flight in the worker at once), then runs `body`.
fn meeting_job(others: &[&str], body: &str) -> String {
    let others = others
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"import {{ existsSync, writeFileSync }} from 'node:fs';
import {{ execSync, spawnSync }} from 'node:child_process';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export async function run() {{
  const me = process.env.WEBSTIR_JOB;
  writeFileSync(`${{me}}.started`, '');
  while (![{others}].every((other) => existsSync(`${{other}}.started`))) await sleep(10);
{body}
}}
"#
    )
}

/// `worker-pool = 1` (one worker takes every run) and `extra` in webstir.toml.
fn one_worker(ws: &Ws, extra: &str) {
    ws.file("webstir.toml", &format!("worker-pool = \"1\"\n{extra}"));
}

#[test]
fn runs_in_flight_together_in_one_worker_each_see_their_own_environment() {
    runs_in_one_worker_see_their_own_environment(&[]);
}

#[test]
fn runs_in_flight_together_in_one_bun_worker_each_see_their_own_environment() {
    let Some(bun) = bun() else {
        println!("skipped: no Bun (set WEBSTIR_TEST_BUN or put `bun` on PATH)");
        return;
    };
    let bun = bun.to_string_lossy().into_owned();
    runs_in_one_worker_see_their_own_environment(&["--node", &bun]);
}

/// Two runs of different jobs in flight at once in one worker (started with `extra`), each
/// reading its own variables directly, in a timer and in child processes, and not the other's.
fn runs_in_one_worker_see_their_own_environment(extra: &[&str]) {
    let ws = Ws::new(
        r#"[
      { "name": "alpha", "schedule": "@reboot", "runner": "worker", "timeout": "30s" },
      { "name": "beta", "schedule": "@reboot", "runner": "worker", "timeout": "30s" }
    ]"#,
    );
    one_worker(&ws, "");
    let body = r#"  process.env.MINE = me;
  process.env[`ONLY_${me}`] = 1;
  await sleep(50);
  const other = me === 'alpha' ? 'beta' : 'alpha';
  const inTimer = await new Promise((resolve) =>
    setTimeout(() => resolve(`${process.env.WEBSTIR_JOB}/${process.env.MINE}`), 20),
  );
  const child = execSync('echo "$WEBSTIR_JOB/$MINE/$WEBSTIR_FIRE_TIME"').toString().trim();
  const spawned = spawnSync('sh', ['-c', 'echo "$WEBSTIR_JOB/$MINE/${ONLY_alpha:-}${ONLY_beta:-}"'])
    .stdout.toString().trim();
  const leaked = process.env[`ONLY_${other}`] ?? 'none';
  console.log(`saw ${process.pid} ${me} ${inTimer} ${child} ${spawned} ${leaked} ${typeof process.env[`ONLY_${me}`]} ${process.env.WEBSTIR_FIRE_TIME}`);"#;
    ws.job("alpha", &meeting_job(&["alpha", "beta"], body));
    ws.job("beta", &meeting_job(&["alpha", "beta"], body));
    let (stdout, stderr) = reboot_runs(&ws, extra, 2);
    assert!(!stderr.contains(" failed: "), "{stdout}{stderr}");
    let saw: Vec<Vec<&str>> = stdout
        .lines()
        .filter_map(|l| l.split_once("] saw ").map(|(_, rest)| rest))
        .map(|rest| rest.split_whitespace().collect())
        .collect();
    assert_eq!(saw.len(), 2, "{stdout}");
    assert_eq!(saw[0][0], saw[1][0], "one worker ran both: {stdout}");
    for fields in &saw {
        let me = fields[1];
        let fire_time = fields[7];
        assert_eq!(fields[2], format!("{me}/{me}"), "in a timer: {stdout}");
        assert_eq!(
            fields[3],
            format!("{me}/{me}/{fire_time}"),
            "in execSync's child: {stdout}"
        );
        assert_eq!(
            fields[4],
            format!("{me}/{me}/1"),
            "in spawnSync's child: {stdout}"
        );
        assert_eq!(fields[5], "none", "the other run's write leaked: {stdout}");
        assert_eq!(fields[6], "string", "values become strings: {stdout}");
    }
}

#[test]
fn process_exit_in_one_run_fails_it_alone_while_another_run_in_its_worker_completes() {
    let ws = Ws::new(
        r#"[
      { "name": "exiter", "schedule": "@reboot", "runner": "worker", "timeout": "30s" },
      { "name": "waiter", "schedule": "@reboot", "runner": "worker", "timeout": "30s" }
    ]"#,
    );
    one_worker(&ws, "");
    ws.job(
        "exiter",
        &meeting_job(
            &["waiter"],
            r#"  console.log(`exiting ${process.pid}`);
  writeFileSync('exiter.exited', '');
  process.exit(3);
  console.log('still here after process.exit');"#,
        ),
    );
    ws.job(
        "waiter",
        &meeting_job(
            &["exiter"],
            r#"  while (!existsSync('exiter.exited')) await sleep(10);
  await sleep(300);
  console.log(`waited ${process.pid}`);"#,
        ),
    );
    let (stdout, stderr) = reboot_runs(&ws, &[], 2);
    assert!(
        stderr
            .lines()
            .any(|l| l == "[jobs] exiter failed: exited with status 3"),
        "{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[jobs] waiter completed in ")),
        "{stdout}{stderr}"
    );
    let exited = stdout
        .lines()
        .find(|l| l.starts_with("[exiter] exiting "))
        .expect("exiter ran");
    let waited = stdout
        .lines()
        .find(|l| l.starts_with("[waiter] waited "))
        .expect("waiter finished");
    assert_eq!(
        pid_of(exited, "exiting"),
        pid_of(waited, "waited"),
        "one worker"
    );
    assert!(
        !stdout.contains("still here"),
        "process.exit unwinds: {stdout}"
    );
    assert!(gone(pid_of(exited, "exiting")), "the worker exited");
}

#[test]
fn a_worker_that_crashes_fails_every_run_it_had_in_flight() {
    let ws = Ws::new(
        r#"[
      { "name": "crasher", "schedule": "@reboot", "runner": "worker", "timeout": "30s" },
      { "name": "bystander", "schedule": "@reboot", "runner": "worker", "timeout": "30s" }
    ]"#,
    );
    one_worker(&ws, "");
    ws.job(
        "crasher",
        &meeting_job(
            &["bystander"],
            "  process.kill(process.pid, 'SIGKILL');\n  await sleep(60000);",
        ),
    );
    ws.job(
        "bystander",
        &meeting_job(&["crasher"], "  await sleep(60000);"),
    );
    let (_, stderr) = reboot_runs(&ws, &[], 2);
    for line in [
        "[jobs] crasher failed: killed by SIGKILL",
        "[jobs] bystander failed: killed by SIGKILL",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line}\n{stderr}");
    }
}

#[test]
fn a_timed_out_run_lets_another_run_in_its_worker_finish_within_the_grace_period() {
    let ws = Ws::new(
        r#"[
      { "name": "stuck", "schedule": "@reboot", "runner": "worker", "timeout": "1s" },
      { "name": "patient", "schedule": "@reboot", "runner": "worker", "timeout": "30s" }
    ]"#,
    );
    one_worker(&ws, "");
    ws.job(
        "stuck",
        &meeting_job(
            &["patient"],
            "  console.log(`stuck ${process.pid}`);\n  await new Promise(() => setInterval(() => {}, 1000));",
        ),
    );
    ws.job(
        "patient",
        &meeting_job(
            &["stuck"],
            "  await sleep(2500);\n  console.log(`patient ${process.pid}`);",
        ),
    );
    let (stdout, stderr) = reboot_runs(&ws, &["--grace", "20s"], 2);
    assert!(
        stderr
            .lines()
            .any(|l| l == "[jobs] stuck failed: timed out after 1s"),
        "{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[jobs] patient completed in ")),
        "{stdout}{stderr}"
    );
    let stuck = stdout
        .lines()
        .find(|l| l.starts_with("[stuck] stuck "))
        .expect("stuck ran");
    let patient = stdout
        .lines()
        .find(|l| l.starts_with("[patient] patient "))
        .expect("patient ran");
    assert_eq!(
        pid_of(stuck, "stuck"),
        pid_of(patient, "patient"),
        "one worker"
    );
    assert!(gone(pid_of(stuck, "stuck")), "the worker was killed");
}

/// Overlap `replace` stops a run the way a timeout does: its worker takes no new run, and gets
/// SIGTERM only once its other runs have ended (here well within the grace period), so a run of
/// another job sharing the worker is not taken down with it.
#[test]
fn overlap_replace_lets_another_run_in_its_worker_finish_first() {
    let ws = Ws::new(
        r#"[
      { "name": "looper", "schedule": "* * * * * *", "runner": "worker", "overlap": "replace" },
      { "name": "patient", "schedule": "@reboot", "runner": "worker", "timeout": "30s" }
    ]"#,
    );
    one_worker(&ws, "");
    ws.job(
        "looper",
        &meeting_job(
            &["patient"],
            "  console.log(`looper ${process.pid}`);\n  await new Promise(() => setInterval(() => {}, 1000));",
        ),
    );
    ws.job(
        "patient",
        &meeting_job(
            &["looper"],
            "  await sleep(2500);\n  console.log(`patient ${process.pid}`);",
        ),
    );
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "20s"]);
    running.wait_for("the patient run's end", |l| {
        l.starts_with("[jobs] patient completed in ") || l.starts_with("[jobs] patient failed: ")
    });
    running.wait_until_seen("the replaced run's end", |l| {
        l == "[jobs] looper failed: stopped by the scheduler"
    });
    running.signal(libc::SIGTERM);
    let done = running.finish();
    let stdout = done.stdout.join("\n");
    let stderr = done.stderr.join("\n");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[jobs] patient completed in ")),
        "{stdout}\n{stderr}"
    );
    let looper = stdout
        .lines()
        .find(|l| l.starts_with("[looper] looper "))
        .expect("looper ran");
    let patient = stdout
        .lines()
        .find(|l| l.starts_with("[patient] patient "))
        .expect("patient ran");
    assert_eq!(
        pid_of(looper, "looper"),
        pid_of(patient, "patient"),
        "one worker"
    );
    assert!(
        gone(pid_of(looper, "looper")),
        "the worker was stopped once patient ended"
    );
}

/// A watched job's module is imported when the watcher starts, before its first fire (here a
/// yearly one that never comes during the test), so that the first run does not wait for it.
#[test]
fn the_modules_of_watched_jobs_are_imported_at_start() {
    let ws = Ws::new(r#"[{ "name": "yearly", "schedule": "0 0 1 1 *", "runner": "worker" }]"#);
    ws.job(
        "yearly",
        "import { writeFileSync } from 'node:fs';\n\
         writeFileSync('imported', String(process.pid));\n\
         console.log('said at import');\n\
         export function run() {}\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("watching", |l| l.starts_with("[jobs] watching jobs"));
    let marker = ws.root().join("imported");
    let deadline = std::time::Instant::now() + scheduler_support::PATIENCE;
    while !marker.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the module was not imported before its first run"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    running.signal(libc::SIGTERM);
    let done = running.finish();
    // What the import printed belongs to the first run, which never came.
    assert!(
        done.stdout.iter().all(|l| !l.contains("said at import")),
        "{:?}",
        done.stdout
    );
}

/// Modules are imported ahead one after another: one whose import never ends must not hold up
/// the first runs of the modules queued behind it in the same worker.
#[test]
fn an_import_that_never_ends_holds_up_no_other_job() {
    let ws = Ws::new(
        r#"[
      { "name": "stuck", "schedule": "0 0 1 1 *", "runner": "worker" },
      { "name": "ticker", "schedule": "* * * * * *", "runner": "worker" }
    ]"#,
    );
    one_worker(&ws, "");
    ws.job(
        "stuck",
        "await new Promise(() => setInterval(() => {}, 1000));\nexport function run() {}\n",
    );
    ws.job(
        "ticker",
        "console.log('ticker imported');\nexport function run() { console.log('tick'); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("ticker's first run", |l| {
        l.starts_with("[jobs] ticker completed in ")
    });
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert!(
        done.stdout.iter().any(|l| l == "[ticker] ticker imported"),
        "{:?}",
        done.stdout
    );
}

/// A module whose top-level code calls process.exit while it is imported ahead of its first
/// run: that run fails with the status, as it would had the import happened in it.
#[test]
fn process_exit_while_a_module_is_imported_ahead_fails_its_first_run() {
    process_exit_while_imported_ahead(&[]);
}

#[test]
fn process_exit_while_a_module_is_imported_ahead_by_bun_fails_its_first_run() {
    let Some(bun) = bun() else {
        println!("skipped: no Bun (set WEBSTIR_TEST_BUN or put `bun` on PATH)");
        return;
    };
    let bun = bun.to_string_lossy().into_owned();
    process_exit_while_imported_ahead(&["--node", &bun]);
}

fn process_exit_while_imported_ahead(extra: &[&str]) {
    let ws = Ws::new(r#"[{ "name": "quits", "schedule": "* * * * * *", "runner": "worker" }]"#);
    ws.job(
        "quits",
        "console.log('leaving');\nprocess.exit(4);\nexport function run() { console.log('ran'); }\n",
    );
    let mut args = vec!["--watch"];
    args.extend_from_slice(extra);
    let mut running = ws.spawn_scheduler(&args);
    running.wait_for("the first run's end", |l| {
        l.starts_with("[jobs] quits failed: ")
    });
    running.signal(libc::SIGTERM);
    let done = running.finish();
    let all: Vec<&String> = done.stdout.iter().chain(&done.stderr).collect();
    assert!(
        all.iter()
            .any(|l| *l == "[jobs] quits failed: exited with status 4"),
        "{all:#?}"
    );
    assert!(all.iter().any(|l| *l == "[quits] leaving"), "{all:#?}");
    assert!(all.iter().all(|l| *l != "[quits] ran"), "{all:#?}");
}

#[test]
fn runs_sharing_a_worker_killed_for_a_timeout_say_why() {
    let ws = Ws::new(
        r#"[
      { "name": "spin", "schedule": "@reboot", "runner": "worker", "timeout": "1s" },
      { "name": "neighbour", "schedule": "@reboot", "runner": "worker", "timeout": "30s" }
    ]"#,
    );
    one_worker(&ws, "");
    // The spin holds the event loop: the neighbour cannot end before the grace period does.
    ws.job("spin", &meeting_job(&["neighbour"], "  for (;;) {}"));
    ws.job(
        "neighbour",
        &meeting_job(&["spin"], "  await sleep(60000);"),
    );
    let (_, stderr) = reboot_runs(&ws, &["--grace", "1s"], 2);
    for line in [
        "[jobs] spin failed: timed out after 1s",
        "[jobs] neighbour failed: its worker was stopped because spin's run timed out",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line}\n{stderr}");
    }
}

#[test]
fn worker_concurrency_1_runs_one_run_at_a_time() {
    let ws = Ws::new(
        r#"[
      { "name": "first", "schedule": "@reboot", "runner": "worker" },
      { "name": "second", "schedule": "@reboot", "runner": "worker" }
    ]"#,
    );
    one_worker(&ws, "worker-concurrency = \"1\"\n");
    let job = r#"import { existsSync, writeFileSync } from 'node:fs';
export async function run() {
  const me = process.env.WEBSTIR_JOB;
  const other = me === 'first' ? 'second' : 'first';
  writeFileSync(`${me}.started`, '');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const overlapped = existsSync(`${other}.started`) && !existsSync(`${other}.ended`);
  writeFileSync(`${me}.ended`, '');
  console.log(`alone ${process.pid} ${!overlapped}`);
}
"#;
    ws.job("first", job);
    ws.job("second", job);
    let (stdout, stderr) = reboot_runs(&ws, &[], 2);
    assert!(!stderr.contains(" failed: "), "{stdout}{stderr}");
    let alone: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once("] alone ").map(|(_, rest)| rest))
        .collect();
    assert_eq!(alone.len(), 2, "{stdout}");
    assert_eq!(
        alone[0].split(' ').next(),
        alone[1].split(' ').next(),
        "one worker"
    );
    assert!(alone.iter().all(|l| l.ends_with(" true")), "{stdout}");
}

#[test]
fn a_done_message_a_job_forges_on_descriptor_3_does_not_end_its_run() {
    let ws = Ws::new(r#"[{ "name": "forger", "runner": "worker" }]"#);
    ws.job(
        "forger",
        r#"import { writeSync } from 'node:fs';
export async function run() {
  for (let id = 1; id <= 20; id++) {
    for (const key of [undefined, '', '0', '00000000000000000000000000000000']) {
      writeSync(3, JSON.stringify({ t: 'done', id, key, ok: true }) + '\n');
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  throw new Error('the real end');
}
"#,
    );
    let out = ws.scheduler(&["--all"]).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l == "[jobs] forger failed: the real end"),
        "{stdout}{stderr}"
    );
}
