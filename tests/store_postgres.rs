//! The PostgreSQL run store through its library interface, against a real server
//! (`WEBSTIR_TEST_POSTGRES`, started by scripts/test): migrations, claims, catch-up fires,
//! bounded history, heartbeats and lost runs, TLS settings and messages without passwords.

mod postgres_support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres_support::{fresh_database, server, sql};
use webstir::store::{
    HistoryQuery, Owner, PostgresStore, RunEnd, RunOutcome, RunStart, RunStore, StoreError,
};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

fn owner(host: &str, pid: u32) -> Owner {
    Owner {
        host: host.to_owned(),
        pid,
    }
}

fn start(job: &str, who: &Owner) -> RunStart {
    RunStart {
        job: job.to_owned(),
        tenant: None,
        schedule: "0 * * * *".to_owned(),
        due: Some(at("2026-12-01T06:00:00Z")),
        started_at: Utc::now(),
        attempt: 1,
        owner: who.clone(),
    }
}

fn end(outcome: RunOutcome, error: Option<&str>) -> RunEnd {
    RunEnd {
        finished_at: Utc::now(),
        outcome,
        error: error.map(str::to_owned),
        exit_status: None,
    }
}

async fn store(url: &str, keep: usize) -> PostgresStore {
    PostgresStore::connect(url, keep)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

#[tokio::test]
async fn three_stores_starting_together_migrate_once() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "migrate");
    let (a, b, c) = tokio::join!(
        PostgresStore::connect(&url, 10),
        PostgresStore::connect(&url, 10),
        PostgresStore::connect(&url, 10)
    );
    for store in [a, b, c] {
        store.expect("every start succeeds");
    }
    let versions = sql(&url, "SELECT version FROM webstir_schema_version");
    assert_eq!(versions.len(), 1, "one migration, applied once");
    // A later start finds nothing to do.
    store(&url, 10).await;
    assert_eq!(
        sql(&url, "SELECT version FROM webstir_schema_version").len(),
        1
    );
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_webstir_is_refused() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "newer");
    store(&url, 10).await;
    sql(
        &url,
        "INSERT INTO webstir_schema_version (version) VALUES (99)",
    );
    let error = PostgresStore::connect(&url, 10).await.expect_err("refused");
    assert!(
        matches!(error, StoreError::NewerRemoteSchema { found: 99, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("upgrade webstir"), "{error}");
}

#[tokio::test]
async fn each_due_fire_is_claimed_by_exactly_one_owner() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "claims");
    let (one, two) = (store(&url, 10).await, store(&url, 10).await);
    let (a, b) = (owner("web-1", 11), owner("web-2", 22));
    let due = at("2026-12-01T06:00:00Z");
    let (first, second) =
        tokio::join!(one.claim("nightly", due, &a), two.claim("nightly", due, &b));
    let (first, second) = (first.expect("claim"), second.expect("claim"));
    assert!(first ^ second, "exactly one claim wins: {first} {second}");
    let winner = if first { &a } else { &b };
    assert_eq!(
        one.claimed_by("nightly", due).await.expect("read").as_ref(),
        Some(winner)
    );
    // Another due time, or another job, is a claim of its own.
    assert!(
        one.claim("nightly", at("2026-12-02T06:00:00Z"), &a)
            .await
            .expect("claim")
    );
    assert!(two.claim("hourly", due, &b).await.expect("claim"));
    assert!(
        !one.claim("nightly", due, &a).await.expect("claim"),
        "not twice"
    );
    assert!(one.shared());
}

#[tokio::test]
async fn catch_up_fires_only_move_forward() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "fires");
    let s = store(&url, 10).await;
    assert_eq!(s.last_fire("nightly").await.expect("read"), None);
    s.record_fire("nightly", at("2026-12-01T00:00:00Z"))
        .await
        .expect("write");
    s.record_fire("nightly", at("2026-11-30T00:00:00Z"))
        .await
        .expect("older is ignored");
    assert_eq!(
        s.last_fire("nightly").await.expect("read"),
        Some(at("2026-12-01T00:00:00Z"))
    );
}

#[tokio::test]
async fn history_keeps_the_newest_runs_per_job_and_filters_failures() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "history");
    let s = store(&url, 3).await;
    let me = owner("web-1", 7);
    for i in 0..5 {
        let id = s.run_started(&start("nightly", &me)).await.expect("start");
        let outcome = if i % 2 == 0 {
            RunOutcome::Succeeded
        } else {
            RunOutcome::Failed
        };
        let error = (i % 2 == 1).then_some("boom");
        s.run_finished(id, &end(outcome, error))
            .await
            .expect("finish");
    }
    s.run_skipped(&start("hourly", &me), Utc::now())
        .await
        .expect("skip");
    let all = s
        .history(&HistoryQuery {
            job: Some("nightly".into()),
            limit: 100,
            failed_only: false,
        })
        .await
        .expect("history");
    assert_eq!(all.len(), 3, "bounded to the newest 3");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let outcomes: Vec<RunOutcome> = all
        .iter()
        .map(|r| r.end.as_ref().expect("ended").outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            RunOutcome::Succeeded,
            RunOutcome::Failed,
            RunOutcome::Succeeded
        ]
    );
    let failed = s
        .history(&HistoryQuery {
            job: None,
            limit: 100,
            failed_only: true,
        })
        .await
        .expect("history");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].end.as_ref().and_then(|e| e.error.as_deref()),
        Some("boom")
    );
    assert_eq!(failed[0].start.owner, me);
    let last = s.last_runs().await.expect("last runs");
    let jobs: Vec<&str> = last.iter().map(|r| r.start.job.as_str()).collect();
    assert_eq!(jobs, ["hourly", "nightly"]);
    assert_eq!(
        last[0].end.as_ref().map(|e| e.outcome),
        Some(RunOutcome::Skipped)
    );
    s.ping().await.expect("ping");
}

#[tokio::test]
async fn runs_of_a_watcher_whose_heartbeat_expired_are_marked_lost() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "lost");
    let s = store(&url, 10).await;
    let (dead, alive, one_shot) = (owner("web-1", 1), owner("web-2", 2), owner("cli", 3));
    let lease = Duration::from_secs(1);
    assert_eq!(s.heartbeat(&dead, lease).await.expect("beat"), 0);
    let lost_run = s
        .run_started(&start("nightly", &dead))
        .await
        .expect("start");
    // A run of a process that never sent heartbeats (a one-off `--job` run) is not judged.
    s.run_started(&start("nightly", &one_shot))
        .await
        .expect("start");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        s.heartbeat(&alive, lease).await.expect("beat"),
        1,
        "one run lost"
    );
    assert_eq!(
        s.heartbeat(&alive, lease).await.expect("beat"),
        0,
        "marked once"
    );
    let runs = s
        .history(&HistoryQuery {
            job: None,
            limit: 10,
            failed_only: true,
        })
        .await
        .expect("history");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, lost_run);
    let ended = runs[0].end.as_ref().expect("ended");
    assert_eq!(ended.outcome, RunOutcome::Lost);
    assert!(
        ended
            .error
            .as_deref()
            .is_some_and(|e| e.contains("web-1:1")),
        "{ended:?}"
    );
    // A watcher that was only cut off and comes back records its run's real end.
    s.run_finished(lost_run, &end(RunOutcome::Succeeded, None))
        .await
        .expect("finish");
}

#[tokio::test]
async fn tls_settings_are_checked_and_passwords_kept_out_of_messages() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "tls");
    // The test server speaks no TLS: `require` must refuse it rather than go plain.
    let with_password = url.replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    let required = format!("{with_password}?sslmode=require");
    let error = PostgresStore::connect(&required, 10)
        .await
        .expect_err("no TLS there");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unreachable { .. }), "{message}");
    assert!(message.contains("postgres:***@"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    let error = PostgresStore::connect(&format!("{url}?sslmode=sometimes"), 10)
        .await
        .expect_err("unknown sslmode");
    assert!(error.to_string().contains("verify-full"), "{error}");
    // `disable` and `prefer` connect in plain text; the location hides the password.
    for mode in ["disable", "prefer"] {
        let s = store(&format!("{with_password}?sslmode={mode}"), 10).await;
        assert!(s.location().contains("postgres:***@"), "{}", s.location());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
