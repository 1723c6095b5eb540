//! `webstir scheduler --watch`: `@reboot`, jobs started at launch, SIGTERM/SIGINT with running
//! jobs, the grace period, and no process outliving the scheduler. Everything here works
//! without cron parsing; schedules that need the engine are in `scheduler_schedules.rs`.

mod scheduler_support;

use scheduler_support::{Ws, assert_completed, gone, lines};

const LONG_RUNNER: &str = r#"import { spawn } from 'node:child_process';
export async function run() {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  console.log(`pids ${process.pid} ${child.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#;

fn pids(line: &str) -> Vec<i32> {
    line.split_whitespace()
        .skip(2)
        .map(|p| p.parse().expect("pid"))
        .collect()
}

#[test]
fn only_reboot_jobs_run_once_and_exit() {
    let ws = Ws::new(
        r#"[{ "name": "warm-up", "schedule": "@reboot" }, { "name": "prime", "schedule": "@reboot" }]"#,
    );
    ws.job(
        "warm-up",
        "export function run() { console.log(process.env.WEBSTIR_SCHEDULE); }\n",
    );
    ws.job("prime", "export function run() {}\n");
    let out = ws.scheduler(&["--watch"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(stdout[0], "[jobs] watching jobs: warm-up, prime");
    assert!(stdout.contains(&"[jobs] running warm-up (schedule: @reboot)".to_owned()));
    assert!(stdout.contains(&"[jobs] running prime (schedule: @reboot)".to_owned()));
    assert!(stdout.contains(&"[warm-up] @reboot".to_owned()));
    assert_eq!(
        stdout.last().map(String::as_str),
        Some("[jobs] completed @reboot jobs and exiting.")
    );
    assert_eq!(stdout.len(), 7, "{stdout:?}");
}

#[test]
fn watch_job_limits_the_watch_to_that_job() {
    let ws = Ws::new(
        r#"[{ "name": "warm-up", "schedule": "@reboot" }, { "name": "other", "schedule": "@reboot" }]"#,
    );
    ws.job("warm-up", "export function run() {}\n");
    ws.job(
        "other",
        "export function run() { console.log('must not run'); }\n",
    );
    let out = ws
        .scheduler(&["--watch", "--job", "WarmUp"])
        .assert()
        .success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(stdout[0], "[jobs] watching jobs: warm-up");
    assert_eq!(stdout[1], "[jobs] running warm-up (schedule: @reboot)");
    assert_completed(&stdout[2], "warm-up");
    assert_eq!(stdout[3], "[jobs] completed @reboot jobs and exiting.");
    assert_eq!(stdout.len(), 4);
}

#[test]
fn manual_jobs_are_not_watched() {
    let ws = Ws::new(r#"[{ "name": "by-hand" }]"#);
    ws.scheduler(&["--watch"])
        .assert()
        .success()
        .stdout("")
        .stderr(
            "[jobs] by-hand has no schedule and is not watched; run it with --job by-hand\n\
             [jobs] no scheduled jobs to watch\n",
        );
}

#[test]
fn a_failed_reboot_job_is_reported() {
    let ws = Ws::new(r#"[{ "name": "warm-up", "schedule": "@reboot" }]"#);
    ws.job(
        "warm-up",
        "export function run() { throw new Error('cold'); }\n",
    );
    let out = ws.scheduler(&["--watch"]).assert().code(1);
    let stderr = lines(&out.get_output().stderr);
    assert!(stderr.contains(&"[jobs] warm-up failed: cold".to_owned()));
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(
        stdout.last().map(String::as_str),
        Some("[jobs] completed @reboot jobs and exiting.")
    );
}

#[test]
fn sigterm_stops_timers_and_running_jobs_leaving_no_process() {
    let ws = Ws::new(
        r#"[
      { "name": "long", "schedule": "@reboot" },
      { "name": "ticker", "schedule": "rate(5 minutes)" }
    ]"#,
    );
    ws.job("long", LONG_RUNNER);
    ws.job("ticker", "export function run() { console.log('tick'); }\n");
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "5s"]);
    let line = running.wait_until_seen("the job's pids", |l| l.starts_with("[long] pids "));
    let pids = pids(&line);
    running.wait_until_seen("the rate job's first run", |l| {
        l.starts_with("[jobs] ticker completed in ")
    });
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0), "stderr: {:?}", done.stderr);
    assert!(
        done.stdout
            .contains(&"[jobs] received SIGTERM; stopped 1 scheduled job timer(s).".to_owned()),
        "{:?}",
        done.stdout
    );
    assert!(
        done.stderr
            .contains(&"[jobs] long failed: stopped by the scheduler".to_owned())
    );
    for pid in pids {
        assert!(gone(pid), "process {pid} outlived the scheduler");
    }
}

#[test]
fn sigint_is_handled_like_sigterm() {
    let ws =
        Ws::new(r#"[{ "name": "ticker", "schedule": ["rate(5 minutes)", "rate(7 minutes)"] }]"#);
    ws.job("ticker", "export function run() { console.log('tick'); }\n");
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("the first run", |l| {
        l.starts_with("[jobs] ticker completed in ")
    });
    running.signal(libc::SIGINT);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert_eq!(
        done.stdout,
        [
            "[jobs] watching jobs: ticker",
            "[jobs] running ticker (schedule: rate(5 minutes))",
            "[ticker] tick",
            done.stdout[3].as_str(),
            "[jobs] received SIGINT; stopped 2 scheduled job timer(s)."
        ]
    );
    assert_completed(&done.stdout[3], "ticker");
}

#[test]
fn a_job_ignoring_sigterm_is_killed_after_the_grace_period() {
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
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "1s"]);
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
}

#[test]
fn sigterm_during_a_manual_run_stops_the_job() {
    let ws = Ws::new(r#"[{ "name": "long" }, { "name": "after" }]"#);
    ws.job("long", LONG_RUNNER);
    ws.job(
        "after",
        "export function run() { console.log('must not run'); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--all"]);
    let line = running.wait_for("the job's pids", |l| l.starts_with("[long] pids "));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(1));
    assert_eq!(
        done.stderr,
        [
            "[jobs] received SIGTERM; stopping the running job.",
            "[jobs] long failed: stopped by the scheduler"
        ]
    );
    assert!(!done.stdout.iter().any(|l| l.contains("must not run")));
    for pid in pids(&line) {
        assert!(gone(pid));
    }
}

#[test]
fn a_second_signal_kills_without_waiting_for_the_grace_period() {
    let ws = Ws::new(r#"[{ "name": "stubborn" }]"#);
    ws.job(
        "stubborn",
        r#"export async function run() {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  console.log(`pids ${process.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#,
    );
    // A grace period longer than the test's patience: only the second signal can end the run
    // in time.
    let mut running = ws.spawn_scheduler(&["--job", "stubborn", "--grace", "10m"]);
    let line = running.wait_for("the job's pid", |l| l.starts_with("[stubborn] pids "));
    running.signal(libc::SIGINT);
    running.wait_for("the job to see SIGTERM", |l| {
        l == "[stubborn] ignoring SIGTERM"
    });
    running.signal(libc::SIGINT);
    let done = running.finish();
    assert_eq!(done.code, Some(1));
    assert_eq!(
        done.stderr,
        [
            "[jobs] received SIGINT; stopping the running job.",
            "[jobs] received SIGINT again; killing running jobs now.",
            "[jobs] stubborn failed: killed by the scheduler before the grace period was over"
        ]
    );
    for pid in pids(&line) {
        assert!(gone(pid));
    }
}

/// SIGKILL leaves the scheduler no chance to stop its jobs: the kernel kills the job's Node
/// process (PR_SET_PDEATHSIG) and the scheduler's sentinel kills the job's process group, or
/// both would run on, orphaned, with nobody to supervise them.
#[test]
fn a_job_and_its_children_die_with_a_scheduler_killed_by_sigkill() {
    let ws = Ws::new(r#"[{ "name": "long" }]"#);
    ws.job("long", LONG_RUNNER);
    let mut running = ws.spawn_scheduler(&["--job", "long"]);
    let line = running.wait_for("the job's pids", |l| l.starts_with("[long] pids "));
    running.signal(libc::SIGKILL);
    let done = running.finish();
    assert_eq!(done.code, None, "killed by a signal");
    for pid in pids(&line) {
        assert!(gone(pid), "process {pid} outlived a SIGKILLed scheduler");
    }
}
