//! The per-job policies as the scheduler carries them out, with real Node.js runs: `retry`
//! (attempt numbers, spacing, one failure in the end), `overlap` (`allow`, `queue`, `replace`
//! with a slow job), `jitter` (bounds over many fires), `catchUp` (once after a stopped
//! watcher, the window's edge, no catch-up on a first start), `WEBSTIR_FIRE_TIME` and
//! `WEBSTIR_ATTEMPT`, and a bad policy refusing to start. Timing assertions only ever say
//! "at least the delay" or use margins of whole seconds: the machine may be busy.

mod scheduler_support;

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use scheduler_support::{Ws, lines};
use webstir::store::{FireLog, SqliteStore};

/// A job that prints its attempt, fire time and the wall clock, then fails unless its
/// attempt is `succeed_on`.
fn attempt_job(succeed_on: u32) -> String {
    format!(
        r#"export async function run() {{
  const attempt = Number(process.env.WEBSTIR_ATTEMPT);
  console.log(`attempt ${{attempt}} at ${{Date.now()}} fire ${{process.env.WEBSTIR_FIRE_TIME}}`);
  if (attempt !== {succeed_on}) throw new Error('kaboom');
}}
"#
    )
}

/// `(attempt, epoch ms, fire time)` of each `[job] attempt N at MS fire T` line.
fn attempts(output: &[String], job: &str) -> Vec<(u32, i64, String)> {
    let prefix = format!("[{job}] attempt ");
    output
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            (
                parts[0].parse().expect("attempt"),
                parts[2].parse().expect("ms"),
                parts[4].to_owned(),
            )
        })
        .collect()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

fn count(lines: &[String], pred: impl Fn(&str) -> bool) -> usize {
    lines.iter().filter(|l| pred(l)).count()
}

// ---------------------------------------------------------------------------------------------
// retry

#[test]
fn retry_numbers_each_attempt_waits_the_backoff_and_exhausting_it_is_one_failure() {
    let ws = Ws::new(
        r#"[{ "name": "nightly", "retry": { "attempts": 3, "backoff": "exponential", "delay": "700ms", "maxDelay": "1s" } }]"#,
    );
    ws.job("nightly", &attempt_job(0));
    let started = Utc::now();
    let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
    let stdout = lines(&out.get_output().stdout);
    let stderr = lines(&out.get_output().stderr);

    let tries = attempts(&stdout, "nightly");
    assert_eq!(
        tries.iter().map(|t| t.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "{stdout:?}"
    );
    // 700 ms, then 1.4 s capped at 1 s. Each attempt prints after its Node started, which is
    // after the wait: the spacing is at least the delay, however busy the machine is.
    assert!(tries[1].1 - tries[0].1 >= 700, "{tries:?}");
    assert!(tries[2].1 - tries[1].1 >= 1000, "{tries:?}");
    // One fire: every attempt sees the same fire time, the manual run's start.
    assert!(tries.iter().all(|t| t.2 == tries[0].2), "{tries:?}");
    let fire = utc(&tries[0].2);
    assert!(fire >= started - chrono::Duration::seconds(1) && fire <= Utc::now());

    for n in 1..=3 {
        assert!(
            stdout.contains(&format!(
                "[jobs] running nightly (schedule: manual; attempt {n} of 3)"
            )),
            "{stdout:?}"
        );
        assert!(
            stderr.contains(&format!("[jobs] nightly attempt {n} of 3 failed: kaboom")),
            "{stderr:?}"
        );
    }
    assert!(stderr.contains(&"[jobs] retrying nightly in 700ms (attempt 2 of 3)".to_owned()));
    assert!(stderr.contains(&"[jobs] retrying nightly in 1s (attempt 3 of 3)".to_owned()));
    // Exhausted: the last attempt's line is the failure; nothing is retried a fourth time.
    assert_eq!(
        stderr.last().map(String::as_str),
        Some("[jobs] nightly attempt 3 of 3 failed: kaboom")
    );
}

#[test]
fn a_retry_that_succeeds_completes_the_run() {
    let ws = Ws::new(
        r#"[{ "name": "flaky", "retry": { "attempts": 3, "backoff": "fixed", "delay": "200ms" } }]"#,
    );
    ws.job("flaky", &attempt_job(2));
    let out = ws.scheduler(&["--job", "flaky"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    let stderr = lines(&out.get_output().stderr);
    assert_eq!(attempts(&stdout, "flaky").len(), 2);
    assert!(
        stdout
            .iter()
            .any(|l| l.starts_with("[jobs] flaky completed in ")
                && l.ends_with("ms (attempt 2 of 3)")),
        "{stdout:?}"
    );
    assert!(stderr.contains(&"[jobs] flaky attempt 1 of 3 failed: kaboom".to_owned()));
}

#[test]
fn with_all_an_exhausted_run_counts_once_in_the_summary() {
    let ws = Ws::new(
        r#"[{ "name": "bad", "retry": { "attempts": 2, "delay": "100ms" } }, { "name": "good" }]"#,
    );
    ws.job("bad", &attempt_job(0));
    ws.job("good", "export function run() {}\n");
    let out = ws.scheduler(&["--all"]).assert().code(1);
    let stderr = lines(&out.get_output().stderr);
    assert_eq!(
        stderr.last().map(String::as_str),
        Some("[jobs] 1 of 2 job run(s) failed: bad")
    );
}

#[test]
fn a_failure_no_retry_can_fix_is_not_retried() {
    let ws = Ws::new(r#"[{ "name": "unbuilt", "retry": 5 }]"#);
    let out = ws.scheduler(&["--job", "unbuilt"]).assert().code(1);
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(
        count(&stdout, |l| l.starts_with("[jobs] running unbuilt")),
        1,
        "{stdout:?}"
    );
}

#[test]
fn retries_apply_to_watched_runs_and_a_stop_cuts_the_wait_short() {
    let ws = Ws::new(
        r#"[{ "name": "flaky", "schedule": "@reboot", "retry": { "attempts": 3, "delay": "1h" } }, { "name": "tick", "schedule": "rate(1 hour)" }]"#,
    );
    ws.job("flaky", &attempt_job(0));
    ws.job("tick", "export function run() {}\n");
    let mut watcher = ws.spawn_scheduler(&["--watch"]);
    watcher.wait_for("the retry wait", |l| {
        l == "[jobs] retrying flaky in 1h (attempt 2 of 3)"
    });
    let asked = std::time::Instant::now();
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    assert_eq!(done.code, Some(0));
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "the wait was cut short"
    );
    assert!(
        done.stderr.contains(
            &"[jobs] flaky failed: not retrying after attempt 1 of 3, the run was stopped"
                .to_owned()
        ),
        "{:?}",
        done.stderr
    );
    assert_eq!(attempts(&done.stdout, "flaky").len(), 1);
}

#[test]
fn retry_events_in_json() {
    let ws = Ws::new(r#"[{ "name": "flaky", "retry": { "attempts": 2, "delay": "100ms" } }]"#);
    ws.job("flaky", &attempt_job(0));
    let out = ws
        .scheduler(&["--job", "flaky", "--log-format", "json"])
        .assert()
        .code(1);
    let events: Vec<serde_json::Value> = lines(&out.get_output().stdout)
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let named = |name: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["event"] == name).collect()
    };
    let first = named("attempt-failed");
    assert_eq!(first.len(), 1, "{events:?}");
    assert_eq!(first[0]["level"], "warn");
    assert_eq!(
        (first[0]["attempt"].as_u64(), first[0]["attempts"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(first[0]["error"], "kaboom");
    let retrying = named("retrying");
    assert_eq!(retrying[0]["delay_ms"], 100);
    assert_eq!(retrying[0]["attempt"], 2);
    let failed = named("failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempt"], 2);
    let started = named("started");
    assert_eq!(started.len(), 2);
    assert!(
        started
            .iter()
            .all(|e| e["fire_time"] == started[0]["fire_time"])
    );
}

/// Regression: a thrown `Error` was reported as `failed: Error: kaboom`; Webstir's own
/// scheduler reports the error's message, and the stack stays in the job's output.
#[test]
fn a_thrown_error_is_reported_by_its_message() {
    let ws = Ws::new(r#"[{ "name": "nightly" }]"#);
    ws.job(
        "nightly",
        "export async function run() { throw new Error('kaboom'); }\n",
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
    let stderr = lines(&out.get_output().stderr);
    assert_eq!(stderr[0], "[nightly] Error: kaboom");
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("[nightly]     at run ("))
    );
    assert_eq!(
        stderr.last().map(String::as_str),
        Some("[jobs] nightly failed: kaboom")
    );
}

// ---------------------------------------------------------------------------------------------
// overlap

/// A job that prints `start <pid>` and, `ms` later, `end <pid>`; SIGTERM makes it print
/// `term <pid>` and exit.
fn slow_job(ms: u64) -> String {
    format!(
        r#"export async function run() {{
  console.log(`start ${{process.pid}}`);
  process.on('SIGTERM', () => {{ console.log(`term ${{process.pid}}`); process.exit(0); }});
  await new Promise((resolve) => setTimeout(resolve, {ms}));
  console.log(`end ${{process.pid}}`);
}}
"#
    )
}

#[test]
fn overlap_allow_runs_side_by_side() {
    let ws = Ws::new(r#"[{ "name": "slow", "schedule": "rate(1 second)", "overlap": "allow" }]"#);
    ws.job("slow", &slow_job(3000));
    let mut watcher = ws.spawn_scheduler(&["--watch"]);
    watcher.wait_for("a first start", |l| l.starts_with("[slow] start "));
    let second = watcher.wait_for("a second start or an end", |l| {
        l.starts_with("[slow] start ") || l.starts_with("[slow] end ")
    });
    assert!(
        second.starts_with("[slow] start "),
        "a second run started before the first ended"
    );
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    assert!(
        !done.stderr.iter().any(|l| l.contains("skipping")),
        "{:?}",
        done.stderr
    );
}

#[test]
fn overlap_queue_runs_once_more_right_after_and_keeps_at_most_one_waiting() {
    // Runs of ~4.5 s on a 3 s rhythm: the fire at 3 s waits and starts when the first run
    // ends (~5 s, not at the 6 s tick); the fire at 6 s waits behind the second run; the one
    // at 9 s finds a run already waiting and is dropped. Every boundary has ≥ 0.5 s of margin.
    let ws = Ws::new(r#"[{ "name": "slow", "schedule": "rate(3 seconds)", "overlap": "queue" }]"#);
    ws.job("slow", &slow_job(4500));
    let mut watcher = ws.spawn_scheduler(&["--watch"]);
    watcher.wait_for("a run already waiting", |l| {
        l == "[jobs] skipping slow; a run is already queued behind the active one (overlap policy: queue)"
    });
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    let scheduler: Vec<&String> = done
        .stdout
        .iter()
        .chain(&done.stderr)
        .filter(|l| l.starts_with("[jobs] ") && !l.contains("watching"))
        .collect();
    let first_completed = done
        .stdout
        .iter()
        .position(|l| l.starts_with("[jobs] slow completed"))
        .expect("the first run completed");
    let queued: Vec<usize> = done
        .stdout
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("[jobs] queuing slow"))
        .map(|(i, _)| i)
        .collect();
    assert!(queued.len() >= 2, "{scheduler:?}");
    assert!(queued[0] < first_completed, "{scheduler:?}");
    // The queued run starts when the first ends, before the next tick queues again.
    let second_running = done
        .stdout
        .iter()
        .enumerate()
        .skip(first_completed)
        .find(|(_, l)| l.starts_with("[jobs] running slow"))
        .map(|(i, _)| i)
        .expect("the queued run started");
    assert!(second_running < queued[1], "{scheduler:?}");
    // Never two at once.
    let mut active = 0;
    for line in &done.stdout {
        if line.starts_with("[slow] start ") {
            active += 1;
            assert_eq!(active, 1, "{:?}", done.stdout);
        } else if line.starts_with("[slow] end ") || line.starts_with("[slow] term ") {
            active -= 1;
        }
    }
}

#[test]
fn overlap_replace_stops_the_running_one_then_starts_and_leaves_other_jobs_alone() {
    let ws = Ws::new(
        r#"[{ "name": "slow", "schedule": "rate(2 seconds)", "overlap": "replace" },
            { "name": "bystander", "schedule": "@reboot" }]"#,
    );
    ws.job("slow", &slow_job(60_000));
    ws.job("bystander", &slow_job(60_000));
    let mut watcher = ws.spawn_scheduler(&["--watch", "--grace", "20s"]);
    let first = watcher.wait_for("the first run", |l| l.starts_with("[slow] start "));
    let first_pid = first.trim_start_matches("[slow] start ").to_owned();
    watcher.wait_for("the replacement", |l| {
        l == "[jobs] replacing slow; stopping the active run (SIGTERM, 20s grace) (overlap policy: replace)"
    });
    watcher.wait_for("the first run stopped", |l| {
        l == format!("[slow] term {first_pid}")
    });
    let second = watcher.wait_for("the second run", |l| l.starts_with("[slow] start "));
    assert_ne!(second, first);
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    let all: Vec<&String> = done.stdout.iter().chain(&done.stderr).collect();
    // The bystander ran the whole time and was only stopped with the watcher.
    let stopped_at = done
        .stdout
        .iter()
        .position(|l| l == &format!("[slow] term {first_pid}"))
        .expect("term line");
    assert!(
        !done.stdout[..stopped_at]
            .iter()
            .any(|l| l.starts_with("[bystander] term")),
        "{all:?}"
    );
    assert!(
        done.stdout
            .iter()
            .any(|l| l.starts_with("[bystander] term"))
    );
}

// ---------------------------------------------------------------------------------------------
// jitter

#[test]
fn jitter_delays_each_fire_by_at_most_its_value() {
    let ws = Ws::new(
        r#"[{ "name": "spread", "schedule": "* * * * * *", "jitter": "1500ms", "overlap": "allow" }]"#,
    );
    ws.job("spread", "export function run() {}\n");
    let mut watcher = ws.spawn_scheduler(&["--watch", "--log-format", "json"]);
    let mut delays = Vec::new();
    while delays.len() < 16 {
        let line = watcher.wait_for("a start", |l| l.contains(r#""event":"started""#));
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        let fire = utc(event["fire_time"].as_str().expect("fire_time"));
        let logged = utc(event["time"].as_str().expect("time"));
        assert_eq!(fire.nanosecond(), 0, "cron fires on whole seconds: {event}");
        delays.push((logged - fire).num_milliseconds());
    }
    watcher.signal(libc::SIGTERM);
    watcher.finish();
    // Never before the due time; never much after due time + jitter (the slack is for a busy
    // machine, and is far below the jitter itself).
    assert!(
        delays.iter().all(|d| (0..=1500 + 400).contains(d)),
        "{delays:?}"
    );
    // Spread out: without jitter every start is within milliseconds of its due time, and 16
    // uniform draws all below 300 ms would happen once in 10^11.
    assert!(delays.iter().any(|d| *d > 300), "{delays:?}");
}

#[test]
fn manual_runs_are_not_jittered() {
    let ws = Ws::new(r#"[{ "name": "now", "jitter": "1h" }]"#);
    ws.job("now", "export function run() {}\n");
    let started = std::time::Instant::now();
    ws.scheduler(&["--job", "now"]).assert().success();
    assert!(started.elapsed() < Duration::from_secs(60));
}

// ---------------------------------------------------------------------------------------------
// catch-up

fn today_midnight() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

fn store(ws: &Ws) -> SqliteStore {
    SqliteStore::open(ws.root()).expect("state store")
}

/// Runs the watcher until `marker` (a `@reboot` job) and the jobs in `also` have completed:
/// catch-ups start in the same instant as `@reboot` runs, so by then any catch-up has been
/// logged.
fn watch_until_marker(ws: &Ws, also: &[&str]) -> Vec<String> {
    let mut watcher = ws.spawn_scheduler(&["--watch"]);
    for job in std::iter::once(&"marker").chain(also) {
        let done = format!("[jobs] {job} completed");
        watcher.wait_until_seen(&done, |l| l.starts_with(&done));
    }
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    assert_eq!(done.code, Some(0), "{:?}", done.stderr);
    done.stdout.into_iter().chain(done.stderr).collect()
}

const NIGHTLY_JOB: &str = r#"export function run() {
  console.log(`fire ${process.env.WEBSTIR_FIRE_TIME} attempt ${process.env.WEBSTIR_ATTEMPT}`);
}
"#;

#[test]
fn catch_up_runs_once_for_the_latest_missed_due_time_and_not_again() {
    let ws = Ws::new(
        r#"[{ "name": "nightly", "schedule": "0 0 * * *", "catchUp": "3d" }, { "name": "marker", "schedule": "@reboot" }]"#,
    );
    ws.job("nightly", NIGHTLY_JOB);
    ws.job("marker", "export function run() {}\n");
    // The last fire was two midnights ago: yesterday's and today's were missed.
    let midnight = today_midnight();
    store(&ws)
        .record_fire("nightly", midnight - chrono::Duration::days(2))
        .expect("seed");

    let first = watch_until_marker(&ws, &["nightly"]);
    let due = midnight.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let line = format!("[jobs] running nightly (catch-up for {due})");
    assert_eq!(
        count(&first, |l| l.starts_with("[jobs] running nightly")),
        1,
        "{first:?}"
    );
    assert!(first.contains(&line), "{first:?}");
    assert!(
        first.contains(&format!("[nightly] fire {due} attempt 1")),
        "{first:?}"
    );
    assert_eq!(
        store(&ws).last_fire("nightly").expect("read"),
        Some(midnight)
    );

    let second = watch_until_marker(&ws, &[]);
    assert_eq!(count(&second, |l| l.contains("catch-up")), 0, "{second:?}");
}

#[test]
fn a_first_start_records_a_baseline_and_does_not_catch_up() {
    let ws = Ws::new(
        r#"[{ "name": "nightly", "schedule": "0 0 * * *", "catchUp": "7d" }, { "name": "marker", "schedule": "@reboot" }]"#,
    );
    ws.job("nightly", NIGHTLY_JOB);
    ws.job("marker", "export function run() {}\n");
    let before = Utc::now();
    let out = watch_until_marker(&ws, &[]);
    assert_eq!(count(&out, |l| l.contains("catch-up")), 0, "{out:?}");
    let baseline = store(&ws)
        .last_fire("nightly")
        .expect("read")
        .expect("a baseline");
    assert!(baseline >= before - chrono::Duration::seconds(1) && baseline <= Utc::now());
    assert!(ws.path(".webstir/state.db").is_file());
}

#[test]
fn catch_up_honours_the_edge_of_its_window() {
    // A daily time 30 minutes ago (to the minute): a 20-minute window misses it, a 40-minute
    // window catches it up. Each side has ten minutes of margin.
    let due = Utc::now() - chrono::Duration::minutes(30);
    let due = due
        .with_second(0)
        .and_then(|d| d.with_nanosecond(0))
        .expect("whole minute");
    let schedule = format!("{} {} * * *", due.minute(), due.hour());
    for (window, expected) in [("20m", 0), ("40m", 1)] {
        let ws = Ws::new(&format!(
            r#"[{{ "name": "daily", "schedule": "{schedule}", "catchUp": "{window}" }}, {{ "name": "marker", "schedule": "@reboot" }}]"#
        ));
        ws.job("daily", NIGHTLY_JOB);
        ws.job("marker", "export function run() {}\n");
        store(&ws)
            .record_fire("daily", due - chrono::Duration::days(2))
            .expect("seed");
        let also: &[&str] = if expected == 1 { &["daily"] } else { &[] };
        let out = watch_until_marker(&ws, also);
        let shown = due.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        assert_eq!(
            count(&out, |l| l
                == format!("[jobs] running daily (catch-up for {shown})")),
            expected,
            "window {window}: {out:?}"
        );
    }
}

#[test]
fn a_stopped_watcher_catches_up_once_however_many_fires_it_missed() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "* * * * * *", "catchUp": "1h" }]"#);
    ws.job("tick", NIGHTLY_JOB);
    let mut watcher = ws.spawn_scheduler(&["--watch"]);
    watcher.wait_for("a scheduled run", |l| {
        l.starts_with("[jobs] tick completed")
    });
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    assert_eq!(count(&done.stdout, |l| l.contains("catch-up")), 0);
    let last = store(&ws)
        .last_fire("tick")
        .expect("read")
        .expect("recorded");

    // Three or more due times pass while nothing watches.
    std::thread::sleep(Duration::from_millis(3500));
    let mut watcher = ws.spawn_scheduler(&["--watch"]);
    let line = watcher.wait_for("the catch-up", |l| l.contains("(catch-up for "));
    let due = utc(line
        .rsplit_once("catch-up for ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .expect("a due time"));
    assert!(
        due >= last + chrono::Duration::seconds(3),
        "{due} after {last}"
    );
    // Let a few regular fires happen too, then stop.
    watcher.wait_for("a regular run", |l| {
        l.starts_with("[jobs] running tick (schedule:")
    });
    watcher.signal(libc::SIGTERM);
    let done = watcher.finish();
    assert_eq!(
        count(&done.stdout, |l| l.contains("catch-up")),
        1,
        "only one catch-up: {:?}",
        done.stdout
    );
}

#[test]
fn a_state_folder_linked_out_of_the_workspace_refuses_to_start() {
    let ws = Ws::new(r#"[{ "name": "nightly", "schedule": "0 0 * * *", "catchUp": "6h" }]"#);
    ws.job("nightly", NIGHTLY_JOB);
    let outside = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(outside.path(), ws.path(".webstir")).expect("link");
    let out = ws.scheduler(&["--watch"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("symbolic link that leads outside the workspace"),
        "{stderr}"
    );
    assert!(!outside.path().join("state.db").exists());
    assert!(out.get_output().stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// bad values

#[test]
fn a_bad_policy_value_refuses_to_start_before_anything_runs() {
    for (policy, key) in [
        (r#""overlap": "sometimes""#, "`overlap`"),
        (r#""retry": { "attempts": 0 }"#, "`retry.attempts`"),
        (r#""jitter": "soon""#, "`jitter`"),
        (r#""catchUp": "forever""#, "`catchUp`"),
    ] {
        let ws = Ws::new(&format!(
            r#"[{{ "name": "first", "schedule": "@reboot" }}, {{ "name": "bad", "schedule": "@reboot", {policy} }}]"#
        ));
        ws.job("first", "import { writeFileSync } from 'node:fs';\nexport function run() { writeFileSync('ran', ''); }\n");
        ws.job("bad", "export function run() {}\n");
        for args in [&["--watch"][..], &["--all"], &["--job", "first"]] {
            let out = ws.scheduler(args).assert().failure();
            let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
            assert!(stderr.contains(key), "{policy} {args:?}: {stderr}");
            assert!(!ws.path("ran").exists(), "{policy} {args:?}: a job ran");
            assert!(!ws.path(".webstir").exists());
        }
    }
}
