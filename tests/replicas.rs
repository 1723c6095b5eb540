//! Several watchers on one manifest sharing a PostgreSQL store (`--store postgres://...`):
//! every due time runs on exactly one of them, also when one is killed; a store that cannot
//! be reached stops the start with a clear message, and one lost mid-run is survived.
//! Real binary, real Node.js jobs, real PostgreSQL (see tests/postgres_support).

mod postgres_support;
mod scheduler_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postgres_support::{cut_off, fresh_database, restore, server, sql};
use scheduler_support::{Running, Ws};

/// Both kinds of schedule that fire every second; `allow` so that a run slowed down by a busy
/// machine never makes a watcher skip a fire (that would be overlap, not a lost claim).
const JOBS: &str = r#"[
  {"name": "every-second", "schedule": "* * * * * *", "overlap": "allow"},
  {"name": "every-rate", "schedule": "rate(1 second)", "overlap": "allow"}
]"#;

/// Appends `<job> <due time>` to the file named by WEBSTIR_TEST_OUT (appends of one short
/// line are atomic, so the three watchers' jobs never interleave).
const RECORD: &str = r#"import fs from 'node:fs';
export async function run() {
  fs.appendFileSync(process.env.WEBSTIR_TEST_OUT,
    `${process.env.WEBSTIR_JOB} ${process.env.WEBSTIR_FIRE_TIME}\n`);
}
"#;

fn workspace() -> Ws {
    let ws = Ws::new(JOBS);
    ws.job("every-second", RECORD).job("every-rate", RECORD);
    ws
}

fn watcher(ws: &Ws, url: &str) -> Running {
    let out = ws.path("fires.txt");
    ws.spawn_scheduler_with_env(
        &["--watch", "--store", url],
        &[("WEBSTIR_TEST_OUT", out.to_str().expect("utf-8 path"))],
    )
}

/// How often each (job, due time) ran.
fn fires(ws: &Ws) -> BTreeMap<(String, DateTime<Utc>), usize> {
    let text = std::fs::read_to_string(ws.path("fires.txt")).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let (job, due) = line.split_once(' ').expect("`<job> <due>`");
        assert!(
            !due.contains('.'),
            "due times are whole seconds (rates are anchored to the epoch): {line}"
        );
        let due = DateTime::parse_from_rfc3339(due)
            .expect("an RFC 3339 due time")
            .with_timezone(&Utc);
        *counts.entry((job.to_owned(), due)).or_insert(0) += 1;
    }
    counts
}

/// The whole seconds strictly inside (`from`, `to`).
fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let first = from.timestamp() + 1;
    (first..to.timestamp())
        .map(|s| DateTime::from_timestamp(s, 0).expect("a time"))
        .collect()
}

fn sleep_until(at: Instant) {
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// Three watchers for 30 s, the first one SIGKILLed halfway when `kill` is set; checks that
/// no due time ran twice and none in the window was lost.
fn three_watchers_for_30_seconds(kill: bool) {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, if kill { "killed" } else { "three" });
    let ws = workspace();
    // Started together: they also race to migrate the new database.
    let mut watchers: Vec<Running> = (0..3).map(|_| watcher(&ws, &url)).collect();
    for w in &mut watchers {
        w.wait_for("the watch to start", |l| l.contains("watching jobs"));
    }
    let started = Utc::now();
    let begun = Instant::now();
    sleep_until(begun + Duration::from_secs(15));

    let mut killed_at = None;
    let mut seeded_run: Option<i64> = None;
    let mut victim_pid = None;
    if kill {
        let victim = watchers.remove(0);
        let pid = victim.pid();
        victim_pid = Some(pid);
        // What the run recorder writes for a run in progress: the heartbeat of the survivors
        // must mark it lost once the victim's lease runs out.
        let host: String = sql(
            &url,
            &format!("SELECT host FROM webstir_watchers WHERE pid = {pid}"),
        )[0]
        .get(0);
        let seeded: i64 = sql(
            &url,
            &format!(
                "INSERT INTO webstir_runs (job, schedule, started_at, outcome, attempt, host, pid)
                 VALUES ('every-second', '* * * * * *', now(), 'running', 1, '{host}', {pid})
                 RETURNING id"
            ),
        )[0]
        .get(0);
        seeded_run = Some(seeded);
        victim.signal(libc::SIGKILL);
        killed_at = Some(Utc::now());
        let finished = victim.finish();
        assert_eq!(finished.code, None, "killed by a signal");
    }
    sleep_until(begun + Duration::from_secs(30));
    let stopped = Utc::now();

    if let Some(seeded) = seeded_run {
        // The lease (9 s) has passed since the kill; allow a busy machine its heartbeat.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let outcome: String = sql(
                &url,
                &format!("SELECT outcome FROM webstir_runs WHERE id = {seeded}"),
            )[0]
            .get(0);
            if outcome == "lost" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the dead watcher's run was never marked lost"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // The first and last second are left out: a watcher may still be starting, or already
    // stopping, at them.
    let window = seconds_between(
        started + chrono::Duration::seconds(1),
        stopped - chrono::Duration::seconds(1),
    );
    assert!(window.len() >= 25, "window of {} s", window.len());
    // The claims the killed watcher took: its runs in flight died with it (they are the
    // runs its heartbeat lets the others mark lost). No claim of it can be for a due time
    // after the second of the kill, since a watcher claims a due time when it comes due.
    let victim_claims: Vec<(String, DateTime<Utc>)> = match victim_pid {
        Some(pid) => sql(
            &url,
            &format!("SELECT job, due FROM webstir_claims WHERE pid = {pid}"),
        )
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect(),
        None => Vec::new(),
    };
    if let Some(k) = killed_at {
        let late: Vec<_> = victim_claims
            .iter()
            .filter(|(_, due)| *due > k + chrono::Duration::seconds(1))
            .collect();
        assert!(
            late.is_empty(),
            "claims of the dead watcher after its death: {late:?}"
        );
    }
    let missing =
        |counts: &BTreeMap<(String, DateTime<Utc>), usize>| -> Vec<(String, DateTime<Utc>)> {
            ["every-second", "every-rate"]
                .iter()
                .flat_map(|job| window.iter().map(move |due| (job.to_string(), *due)))
                .filter(|key| !counts.contains_key(key) && !victim_claims.contains(key))
                .collect()
        };
    // Runs still in flight (a busy machine makes a Node start slow) finish before the stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !missing(&fires(&ws)).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    for w in &watchers {
        w.signal(libc::SIGTERM);
    }
    let logs: Vec<String> = watchers
        .into_iter()
        .flat_map(|w| {
            let finished = w.finish();
            assert_eq!(finished.code, Some(0), "stderr: {:?}", finished.stderr);
            finished.stdout.into_iter().chain(finished.stderr)
        })
        .collect();

    let left: i64 = sql(&url, "SELECT count(*) FROM webstir_watchers")[0].get(0);
    assert_eq!(
        left, 0,
        "stopped watchers leave; a killed one is removed by the lease"
    );
    let counts = fires(&ws);
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "ran more than once: {doubled:?}");
    let lost = missing(&counts);
    assert!(
        lost.is_empty(),
        "due times that never ran: {lost:?}\nlogs:\n{}",
        logs.join("\n")
    );
    let claimed_elsewhere = logs.iter().filter(|l| l.contains("claimed by")).count();
    assert!(
        claimed_elsewhere > 0,
        "the watchers never met a claim of another"
    );
    if kill {
        assert!(
            // The seeded run and whatever runs the victim had in flight (now recorded too).
            logs.iter()
                .any(|l| l.contains("run(s) lost: their watcher stopped")),
            "a survivor says it marked the dead watcher's runs lost"
        );
    }
}

#[test]
fn three_watchers_run_every_due_time_exactly_once() {
    three_watchers_for_30_seconds(false);
}

#[test]
fn a_watcher_killed_halfway_loses_and_doubles_no_due_time_after_it() {
    three_watchers_for_30_seconds(true);
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn an_unreachable_store_stops_the_start_and_names_it_without_the_password() {
    let ws = workspace();
    let port = closed_port();
    let url = format!("postgres://webstir:hunter2@127.0.0.1:{port}/jobs");
    let redacted = format!("postgres://webstir:***@127.0.0.1:{port}/jobs");
    let check = |out: std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("could not reach the run store `{redacted}`")),
            "{stderr}"
        );
        assert!(stderr.contains("Check that PostgreSQL runs"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!ws.path("fires.txt").exists(), "nothing ran");
    };
    check(
        ws.scheduler(&["--watch", "--store", &url])
            .output()
            .expect("run"),
    );
    // The same from the environment and from webstir.toml.
    check(
        ws.scheduler(&["--watch"])
            .env("WEBSTIR_STORE", &url)
            .output()
            .expect("run"),
    );
    ws.file("webstir.toml", &format!("store = \"{url}\"\n"));
    check(ws.scheduler(&["--watch"]).output().expect("run"));
}

#[test]
fn an_unknown_store_is_a_usage_error_naming_what_is_accepted() {
    let ws = workspace();
    let out = ws
        .scheduler(&["--watch", "--store", "mysql://root:hunter2@db/jobs"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "webstir: error: --store: unknown store `mysql://root:***@db/jobs`: expected `sqlite` \
         (the default, .webstir/state.db) or a PostgreSQL URL such as \
         `postgres://user:password@host:5432/database`\n"
    );
}

#[test]
fn a_store_lost_mid_run_is_logged_once_skips_fires_and_recovers() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "lost");
    let ws = workspace();
    let mut w = watcher(&ws, &url);
    w.wait_for("a run", |l| l.contains("every-second completed"));

    cut_off(&server, &url);
    w.wait_for("the outage", |l| l.contains("unreachable:"));
    w.wait_for("a fire skipped for it", |l| {
        l.contains("skipping every-second due") && l.contains("the run store is unreachable")
    });
    // Several fires come due while the store is away; the watcher goes on.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        w.child.try_wait().expect("try_wait").is_none(),
        "the watcher is alive"
    );

    restore(&server, &url);
    w.wait_for("the recovery", |l| l.contains("reachable again after"));
    w.wait_for("a run after it", |l| l.contains("every-second completed"));
    w.signal(libc::SIGTERM);
    let finished = w.finish();
    assert_eq!(finished.code, Some(0));
    let all: Vec<&String> = finished.stdout.iter().chain(&finished.stderr).collect();
    let outages = all.iter().filter(|l| l.contains("unreachable:")).count();
    assert_eq!(outages, 1, "the outage is said once: {all:#?}");
    let recoveries = all.iter().filter(|l| l.contains("reachable again")).count();
    assert_eq!(recoveries, 1, "{all:#?}");
}

#[test]
fn three_watchers_starting_together_catch_up_once() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "catchup");
    // `tick` shows each watcher's loop going on after its start, catch-up included.
    let ws = Ws::new(
        r#"[{"name": "hourly", "schedule": "0 * * * *", "catchUp": "1d"},
            {"name": "tick", "schedule": "* * * * * *", "overlap": "allow"}]"#,
    );
    ws.job("hourly", RECORD).job("tick", RECORD);
    // A first start records its baseline; then the last fire is moved 20 hours back, as if
    // every watcher had been down since: the latest top of the hour is owed.
    let mut first = watcher(&ws, &url);
    first.wait_for("the watch to start", |l| l.contains("watching jobs"));
    first.signal(libc::SIGTERM);
    assert_eq!(first.finish().code, Some(0));
    sql(
        &url,
        "UPDATE webstir_fires SET last_due = now() - interval '20 hours'",
    );

    let began = Utc::now();
    let mut watchers: Vec<Running> = (0..3).map(|_| watcher(&ws, &url)).collect();
    for w in &mut watchers {
        // A watcher that starts after another recorded the catch-up owes nothing; one that
        // owes it claims it as it starts, before the later fires of `tick`.
        for _ in 0..2 {
            w.wait_for("tick fires", |l| {
                l.contains("tick due") || l.contains("tick completed")
            });
        }
    }
    for w in &watchers {
        w.signal(libc::SIGTERM);
    }
    let mut logs = Vec::new();
    for w in watchers {
        let finished = w.finish();
        assert_eq!(finished.code, Some(0));
        logs.extend(finished.stdout);
    }
    let ran: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("running hourly (catch-up for"))
        .collect();
    assert_eq!(ran.len(), 1, "one watcher runs the catch-up: {logs:#?}");
    let hourly: Vec<_> = fires(&ws)
        .into_iter()
        // A scheduled fire at the next top of the hour is not the catch-up.
        .filter(|((job, due), _)| job == "hourly" && *due <= began)
        .collect();
    assert_eq!(hourly.len(), 1, "{hourly:?}");
    assert_eq!(hourly[0].1, 1, "ran once: {hourly:?}");
}

#[test]
fn the_store_url_from_the_environment_is_not_shown_in_help() {
    let ws = workspace();
    let out = ws
        .scheduler(&["--help"])
        .env("WEBSTIR_STORE", "postgres://webstir:hunter2@db/jobs")
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("--store <URL>") && help.contains("WEBSTIR_STORE"),
        "{help}"
    );
    assert!(!help.contains("hunter2"), "{help}");
}

/// `--history` and `backend-inspect` read the store the watchers write to: a run recorded in
/// PostgreSQL is listed by `--history --store URL`, and by backend-inspect through
/// `WEBSTIR_STORE`; no SQLite database is created by either.
#[test]
fn history_and_inspect_read_the_postgres_store() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "history");
    let ws = Ws::new(r#"[{"name": "fails", "schedule": "@daily"}]"#);
    ws.job(
        "fails",
        "export async function run() { throw new Error('disk full'); }",
    );
    ws.scheduler(&["--job", "fails", "--store", &url])
        .assert()
        .code(1);
    assert!(
        !ws.path(".webstir/state.db").exists(),
        "a PostgreSQL store leaves no SQLite database"
    );
    let out = ws
        .scheduler(&["--history", "--json", "--store", &url])
        .assert()
        .success();
    let runs: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("a JSON array");
    let runs = runs.as_array().expect("an array");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["job"], "fails");
    assert_eq!(runs[0]["outcome"], "failed");
    assert!(
        runs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("disk full")),
        "{runs:?}"
    );
    // Without --store, the SQLite default has nothing.
    ws.scheduler(&["--history", "--json"])
        .assert()
        .success()
        .stdout("[]\n");
    let out = ws
        .webstir(&["backend-inspect", "--json"])
        .env("WEBSTIR_STORE", &url)
        .output()
        .expect("backend-inspect runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("\"lastRun\""), "{text}");
    assert!(text.contains("failed"), "{text}");
}
