//! The watcher and `--list` on real schedules: `rate(1 second)` firing repeatedly, a six-field
//! cron firing every second, overlap skipping, and next run times. These need the schedule
//! engine (`crate::schedule`) to parse rates and compute cron fire times.

mod scheduler_support;

use chrono::{Duration as ChronoDuration, Timelike, Utc};

use scheduler_support::{Ws, lines};

/// Appends one line per run to `runs.log` in the workspace.
const COUNT_RUNS: &str = r#"import { appendFileSync } from 'node:fs';
export function run() {
  appendFileSync('runs.log', `${process.env.WEBSTIR_SCHEDULE} ${Date.now()}\n`);
  console.log('ran');
}
"#;

#[test]
fn rate_one_second_fires_repeatedly() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "rate(1 second)" }]"#);
    ws.job("tick", COUNT_RUNS);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    for _ in 0..3 {
        running.wait_for("a run", |l| l.starts_with("[jobs] tick completed in "));
    }
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert_eq!(done.stdout[0], "[jobs] watching jobs: tick");
    assert_eq!(
        done.stdout[1],
        "[jobs] running tick (schedule: rate(1 second))"
    );
    let runs = ws.read("runs.log");
    let times: Vec<i64> = runs
        .lines()
        .map(|l| {
            let (schedule, ms) = l.rsplit_once(' ').expect("line");
            assert_eq!(schedule, "rate(1 second)");
            ms.parse().expect("ms")
        })
        .collect();
    assert!(times.len() >= 3, "{runs}");
    // Successive runs are about a second apart, not back to back.
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 500, "runs too close: {times:?}");
    }
}

#[test]
fn six_field_cron_fires_every_second() {
    let ws = Ws::new(r#"[{ "name": "every-second", "schedule": "* * * * * *" }]"#);
    ws.job("every-second", COUNT_RUNS);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    for _ in 0..3 {
        running.wait_for("a run", |l| {
            l.starts_with("[jobs] every-second completed in ")
        });
    }
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    assert!(
        done.stdout
            .contains(&"[jobs] running every-second (schedule: * * * * * *)".to_owned())
    );
    assert!(
        done.stdout
            .last()
            .is_some_and(|l| l == "[jobs] received SIGTERM; stopped 1 scheduled job timer(s)."),
        "{:?}",
        done.stdout
    );
    assert!(ws.read("runs.log").lines().count() >= 3);
}

#[test]
fn overlapping_run_is_skipped_and_other_jobs_are_not_delayed() {
    let ws = Ws::new(
        r#"[
      { "name": "slow", "schedule": "rate(1 second)" },
      { "name": "fast", "schedule": "rate(1 second)" }
    ]"#,
    );
    ws.job(
        "slow",
        "export async function run() { await new Promise((r) => setTimeout(r, 3500)); }\n",
    );
    ws.job("fast", COUNT_RUNS);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("a skip", |l| {
        l == "[jobs] skipping slow; previous run is still active (overlap policy: skip)"
    });
    for _ in 0..2 {
        running.wait_for("fast runs", |l| l.starts_with("[jobs] fast completed in "));
    }
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    let slow_starts = done
        .stdout
        .iter()
        .filter(|l| l.starts_with("[jobs] running slow"))
        .count();
    assert_eq!(slow_starts, 1, "{:?}", done.stdout);
}

#[test]
fn a_failing_scheduled_job_runs_again_at_its_next_time() {
    let ws = Ws::new(r#"[{ "name": "flaky", "schedule": "rate(1 second)" }]"#);
    ws.job(
        "flaky",
        "export function run() { throw new Error('again'); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch"]);
    for _ in 0..2 {
        running.wait_for("a failure", |l| l == "[jobs] flaky failed: again");
    }
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn list_shows_the_next_run_of_cron_and_macro_schedules() {
    let ws = Ws::new(
        r#"[
      { "name": "nightly", "schedule": "0 0 * * *", "description": "Nightly maintenance window" },
      { "name": "hourly", "schedule": "@hourly" },
      { "name": "ticker", "schedule": "rate(5 minutes)" }
    ]"#,
    );
    let now = Utc::now();
    let out = ws.scheduler(&["--list"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    let midnight = (now + ChronoDuration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    let next_hour = (now + ChronoDuration::hours(1))
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .expect("hour");
    assert_eq!(
        stdout[0],
        format!(
            "- nightly (0 0 * * *) — Nightly maintenance window (next run: {}+00:00)",
            midnight.format("%Y-%m-%dT%H:%M:%S")
        )
    );
    assert_eq!(
        stdout[1],
        format!(
            "- hourly (@hourly) (next run: {}+00:00)",
            next_hour.format("%Y-%m-%dT%H:%M:%S")
        )
    );
    assert_eq!(stdout[2], "- ticker (rate(5 minutes))");

    let out = ws.scheduler(&["--json"]).assert().success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(
        json[0]["nextRun"],
        format!("{}+00:00", midnight.format("%Y-%m-%dT%H:%M:%S"))
    );
    assert!(json[2]["nextRun"].is_null());
}
