//! The run history of the SQLite store: [`RunStore`] over the `runs` table. Each call runs on
//! tokio's blocking pool, so the scheduler's event loop never waits on the disk; the same
//! statements serve the synchronous readers (`backend-inspect`).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, database_error};
use crate::store::{
    BatchError, HistoryQuery, Owner, RunEnd, RunId, RunOutcome, RunRecord, RunRef, RunStart,
    RunStore, StoreError, StoredRun,
};

/// The schema version that has the `runs` table.
const RUNS_VERSION: i64 = 2;

/// RFC 3339 in UTC with nanoseconds: a fixed width, so that times compare correctly as text.
pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

const COLUMNS: &str = "id, job, tenant, schedule, due, started_at, finished_at, outcome, error, \
                       attempt, exit_status, host, pid";

impl SqliteStore {
    /// Runs `f` with the connection on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        if !self.still_there() {
            return Err(StoreError::Gone {
                path: self.path.clone(),
            });
        }
        let conn = std::sync::Arc::clone(&self.conn);
        let path = self.path.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|source| database_error(&path, source)),
            Err(error) => Err(StoreError::Worker {
                path,
                message: error.to_string(),
            }),
        }
    }

    /// Whether the database has the run table (a store opened read-only is not migrated).
    fn has_runs(&self) -> bool {
        self.version >= RUNS_VERSION
    }

    /// Recent runs, newest first, here and now.
    pub fn history_now(&self, query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError> {
        if !self.has_runs() {
            return Ok(Vec::new());
        }
        self.with(|conn| history(conn, query, &Owner::this_process()))
    }

    /// The newest run of each job, here and now.
    pub fn last_runs_now(&self) -> Result<Vec<StoredRun>, StoreError> {
        if !self.has_runs() {
            return Ok(Vec::new());
        }
        self.with(|conn| last_runs(conn, &Owner::this_process()))
    }
}

#[async_trait::async_trait]
impl RunStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// One database file on one machine: every watcher of it runs every fire.
    fn shared(&self) -> bool {
        false
    }

    async fn run_started(&self, run: &RunStart) -> Result<RunId, StoreError> {
        let run = run.clone();
        self.blocking(move |conn| insert_started(conn, &run)).await
    }

    async fn run_finished(&self, id: RunId, end: &RunEnd) -> Result<(), StoreError> {
        let end = end.clone();
        let keep = self.history_limit;
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            if let Some(job) = finish(&tx, id, &end)? {
                prune(&tx, &job, keep)?;
            }
            tx.commit()
        })
        .await
    }

    async fn run_skipped(&self, run: &RunStart, at: DateTime<Utc>) -> Result<(), StoreError> {
        let run = run.clone();
        let keep = self.history_limit;
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            insert_skipped(&tx, &run, at)?;
            prune(&tx, &run.job, keep)?;
            tx.commit()
        })
        .await
    }

    /// The whole batch in one transaction, on one trip to the blocking pool: a commit (a WAL
    /// append) per batch rather than per event, and each job pruned once per batch. On an
    /// error nothing of the batch is written.
    async fn record(&self, records: &[RunRecord]) -> Result<Vec<Option<RunId>>, BatchError> {
        let records = records.to_vec();
        let keep = self.history_limit;
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            let mut written: Vec<Option<RunId>> = Vec::with_capacity(records.len());
            let mut touched: Vec<String> = Vec::new();
            for record in &records {
                let id = match record {
                    RunRecord::Started(start) => Some(insert_started(&tx, start)?),
                    RunRecord::Finished { run, end } => {
                        let id = match run {
                            RunRef::Stored(id) => *id,
                            RunRef::InBatch(index) => written
                                .get(*index)
                                .copied()
                                .flatten()
                                .expect("a batch refers only to a start before it"),
                            RunRef::Unrecorded(start) => insert_started(&tx, start)?,
                        };
                        touched.extend(finish(&tx, id, end)?);
                        None
                    }
                    RunRecord::Skipped { run, at } => {
                        insert_skipped(&tx, run, *at)?;
                        touched.push(run.job.clone());
                        None
                    }
                };
                written.push(id);
            }
            touched.sort_unstable();
            touched.dedup();
            for job in &touched {
                prune(&tx, job, keep)?;
            }
            tx.commit()?;
            Ok(written)
        })
        .await
        .map_err(|error| BatchError {
            written: Vec::new(),
            error,
        })
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError> {
        if !self.has_runs() {
            return Ok(Vec::new());
        }
        let query = query.clone();
        let me = Owner::this_process();
        self.blocking(move |conn| history(conn, &query, &me)).await
    }

    async fn last_runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        if !self.has_runs() {
            return Ok(Vec::new());
        }
        let me = Owner::this_process();
        self.blocking(move |conn| last_runs(conn, &me)).await
    }

    /// Always granted: no other watcher shares this database's fires.
    async fn claim(
        &self,
        _job: &str,
        _due: DateTime<Utc>,
        _owner: &Owner,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Marks `lost` the runs left `running` by watchers of this host that no longer exist (a
    /// watcher killed with SIGKILL, a machine that rebooted). `lease` does not matter here:
    /// whether a process of this host lives can be asked directly.
    async fn heartbeat(
        &self,
        owner: &Owner,
        _lease: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let owner = owner.clone();
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            let orphans: Vec<(RunId, u32)> = {
                let mut stmt = tx.prepare(
                    "SELECT id, pid FROM runs WHERE outcome = 'running' AND host = ?1 AND pid <> ?2",
                )?;
                stmt.query_map(params![owner.host, owner.pid], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?
            };
            let now = time_text(Utc::now());
            let mut marked = 0;
            for (id, pid) in orphans {
                let other = Owner {
                    host: owner.host.clone(),
                    pid,
                };
                if other.alive_here() {
                    continue;
                }
                marked += tx.execute(
                    "UPDATE runs SET outcome = 'lost', finished_at = ?2, error = ?3 WHERE id = ?1",
                    params![id, now, lost_message(pid)],
                )?;
            }
            tx.commit()?;
            Ok(marked)
        })
        .await
    }

    async fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let job = job.to_owned();
        self.blocking(move |conn| super::last_fire(conn, &job))
            .await
    }

    async fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError> {
        let job = job.to_owned();
        self.blocking(move |conn| super::record_fire(conn, &job, due))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|conn| conn.query_row("SELECT count(*) FROM schema_version", [], |_| Ok(())))
            .await
    }
}

fn lost_message(pid: u32) -> String {
    format!("its watcher (pid {pid}) stopped before the run ended")
}

fn insert_started(conn: &Connection, run: &RunStart) -> rusqlite::Result<RunId> {
    conn.prepare_cached(
        "INSERT INTO runs (job, tenant, schedule, due, started_at, outcome, attempt, host, pid)
         VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7, ?8)",
    )?
    .execute(params![
        run.job,
        run.tenant,
        run.schedule,
        run.due.map(time_text),
        time_text(run.started_at),
        run.attempt,
        run.owner.host,
        run.owner.pid,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Records how run `id` ended; returns its job, or `None` when the row is gone (pruned
/// already: a tiny limit and many runs at once), which leaves nothing to update.
fn finish(conn: &Connection, id: RunId, end: &RunEnd) -> rusqlite::Result<Option<String>> {
    let found: Option<(String, String)> = conn
        .prepare_cached("SELECT job, started_at FROM runs WHERE id = ?1")?
        .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((job, started)) = found else {
        return Ok(None);
    };
    let duration = parse_time(&started)
        .map(|s| (end.finished_at - s).num_milliseconds().max(0))
        .unwrap_or(0);
    conn.prepare_cached(
        "UPDATE runs SET finished_at = ?2, outcome = ?3, error = ?4, exit_status = ?5,
                         duration_ms = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        time_text(end.finished_at),
        end.outcome.as_str(),
        end.error,
        end.exit_status,
        duration,
    ])?;
    Ok(Some(job))
}

fn insert_skipped(conn: &Connection, run: &RunStart, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (job, tenant, schedule, due, started_at, finished_at, outcome,
                           attempt, duration_ms, host, pid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'skipped', ?6, 0, ?7, ?8)",
    )?
    .execute(params![
        run.job,
        run.tenant,
        run.schedule,
        run.due.map(time_text),
        time_text(at),
        run.attempt,
        run.owner.host,
        run.owner.pid,
    ])?;
    Ok(())
}

/// Keeps the newest `keep` runs of `job`; a run still going is never dropped.
fn prune(conn: &Connection, job: &str, keep: usize) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM runs WHERE job = ?1 AND outcome <> 'running' AND id <= (
             SELECT id FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![job, i64::try_from(keep).unwrap_or(i64::MAX)])
}

fn history(
    conn: &Connection,
    query: &HistoryQuery,
    me: &Owner,
) -> rusqlite::Result<Vec<StoredRun>> {
    // `running` is read too with --failed: a run whose watcher died reads as lost.
    let sql = format!(
        "SELECT {COLUMNS} FROM runs
         WHERE (?1 IS NULL OR job = ?1)
           AND (?2 = 0 OR outcome IN ('failed', 'timed-out', 'killed', 'lost', 'running'))
         ORDER BY id DESC"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params![query.job, query.failed_only])?;
    let mut found = Vec::new();
    // The limit is counted here, after a dead watcher's run became `lost`.
    while found.len() < query.limit {
        let Some(row) = rows.next()? else { break };
        let run = seen_from(read_run(row)?, me);
        let outcome = run.end.as_ref().map_or(RunOutcome::Running, |e| e.outcome);
        if !query.failed_only || outcome.is_failure() {
            found.push(run);
        }
    }
    Ok(found)
}

fn last_runs(conn: &Connection, me: &Owner) -> rusqlite::Result<Vec<StoredRun>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY job)
         ORDER BY job"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut runs = Vec::new();
    for run in stmt.query_map([], |row| read_run(row).map(|run| seen_from(run, me)))? {
        runs.push(run?);
    }
    Ok(runs)
}

/// A run as a reader on this machine sees it: one left `running` by a watcher of this host
/// that is gone is shown as lost, even before a watcher marks it so.
fn seen_from(mut run: StoredRun, me: &Owner) -> StoredRun {
    let owner = &run.start.owner;
    if run.end.is_none() && owner.host == me.host && owner.pid != me.pid && !owner.alive_here() {
        run.end = Some(RunEnd {
            finished_at: run.start.started_at,
            outcome: RunOutcome::Lost,
            error: Some(lost_message(owner.pid)),
            exit_status: None,
        });
    }
    run
}

fn read_run(row: &Row<'_>) -> rusqlite::Result<StoredRun> {
    let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(row
            .get::<_, Option<String>>(i)?
            .as_deref()
            .and_then(parse_time))
    };
    let started_at = time(5)?.unwrap_or_default();
    let outcome: String = row.get(7)?;
    let outcome = outcome_from(&outcome);
    let end = match outcome {
        RunOutcome::Running => None,
        outcome => Some(RunEnd {
            finished_at: time(6)?.unwrap_or(started_at),
            outcome,
            error: row.get(8)?,
            exit_status: row.get(10)?,
        }),
    };
    Ok(StoredRun {
        id: row.get(0)?,
        start: RunStart {
            job: row.get(1)?,
            tenant: row.get(2)?,
            schedule: row.get(3)?,
            due: time(4)?,
            started_at,
            attempt: row.get(9)?,
            owner: Owner {
                host: row.get(11)?,
                pid: row.get(12)?,
            },
        },
        end,
    })
}

/// The outcome a row names; a word from a newer webstir reads as failed rather than lost.
fn outcome_from(word: &str) -> RunOutcome {
    [
        RunOutcome::Running,
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::TimedOut,
        RunOutcome::Skipped,
        RunOutcome::Killed,
        RunOutcome::Lost,
    ]
    .into_iter()
    .find(|o| o.as_str() == word)
    .unwrap_or(RunOutcome::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).expect("a valid instant")
    }

    fn start(job: &str, second: i64) -> RunStart {
        RunStart {
            job: job.to_owned(),
            tenant: None,
            schedule: "rate(1 minute)".to_owned(),
            due: Some(at(second)),
            started_at: at(second),
            attempt: 1,
            owner: Owner::this_process(),
        }
    }

    fn end(second: i64, outcome: RunOutcome, error: Option<&str>) -> RunEnd {
        RunEnd {
            finished_at: at(second),
            outcome,
            error: error.map(str::to_owned),
            exit_status: Some(i32::from(outcome != RunOutcome::Succeeded)),
        }
    }

    fn query(job: Option<&str>, limit: usize, failed_only: bool) -> HistoryQuery {
        HistoryQuery {
            job: job.map(str::to_owned),
            limit,
            failed_only,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn runs_are_recorded_listed_newest_first_and_bounded_per_job() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path())
            .expect("open")
            .with_history_limit(3);
        runtime().block_on(async {
            for second in 0..5 {
                let id = store.run_started(&start("a", second)).await.expect("start");
                let outcome = if second == 2 {
                    RunOutcome::Failed
                } else {
                    RunOutcome::Succeeded
                };
                let error = (second == 2).then_some("Error: boom");
                store
                    .run_finished(id, &end(second + 1, outcome, error))
                    .await
                    .expect("finish");
            }
            store
                .run_skipped(&start("b", 10), at(10))
                .await
                .expect("skip");
            let a = store
                .history(&query(Some("a"), 10, false))
                .await
                .expect("read");
            let dues: Vec<_> = a.iter().map(|r| r.start.due).collect();
            assert_eq!(
                dues,
                [Some(at(4)), Some(at(3)), Some(at(2))],
                "the newest 3"
            );
            let failed = store.history(&query(None, 10, true)).await.expect("read");
            assert_eq!(failed.len(), 1);
            let end = failed[0].end.as_ref().expect("ended");
            assert_eq!(end.error.as_deref(), Some("Error: boom"));
            assert_eq!(end.outcome, RunOutcome::Failed);
            let all = store.history(&query(None, 2, false)).await.expect("read");
            assert_eq!(all[0].start.job, "b");
            assert_eq!(
                all[0].end.as_ref().map(|e| e.outcome),
                Some(RunOutcome::Skipped)
            );
            let last = store.last_runs().await.expect("read");
            let names: Vec<_> = last.iter().map(|r| r.start.job.as_str()).collect();
            assert_eq!(names, ["a", "b"]);
            store.ping().await.expect("answers");
        });
    }

    #[test]
    fn a_batch_is_written_whole_with_ends_referring_to_starts_of_any_batch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path())
            .expect("open")
            .with_history_limit(2);
        runtime().block_on(async {
            let first = store
                .record(&[RunRecord::Started(start("a", 0))])
                .await
                .expect("first batch");
            let earlier = first[0].expect("a start has an id");
            let batch = [
                RunRecord::Finished {
                    run: RunRef::Stored(earlier),
                    end: end(1, RunOutcome::Succeeded, None),
                },
                RunRecord::Started(start("a", 2)),
                RunRecord::Started(start("b", 2)),
                RunRecord::Finished {
                    run: RunRef::InBatch(2),
                    end: end(3, RunOutcome::Failed, Some("Error: boom")),
                },
                RunRecord::Finished {
                    run: RunRef::Unrecorded(start("c", 1)),
                    end: end(4, RunOutcome::Killed, None),
                },
                RunRecord::Skipped {
                    run: start("a", 3),
                    at: at(3),
                },
                RunRecord::Skipped {
                    run: start("a", 4),
                    at: at(4),
                },
            ];
            let written = store.record(&batch).await.expect("second batch");
            assert_eq!(written.len(), batch.len());
            assert!(written[1].is_some() && written[2].is_some());
            assert!(
                written
                    .iter()
                    .enumerate()
                    .all(|(i, id)| id.is_some() == (i == 1 || i == 2))
            );

            let all = store.history(&query(None, 100, false)).await.expect("read");
            let seen: Vec<_> = all
                .iter()
                .map(|r| (r.start.job.as_str(), r.end.as_ref().map(|e| e.outcome)))
                .collect();
            // `a` keeps its newest two ended runs and the one still running.
            assert_eq!(
                seen,
                [
                    ("a", Some(RunOutcome::Skipped)),
                    ("a", Some(RunOutcome::Skipped)),
                    ("c", Some(RunOutcome::Killed)),
                    ("b", Some(RunOutcome::Failed)),
                    ("a", None),
                ]
            );
            let c = &all[2];
            assert_eq!(c.start.started_at, at(1));
            assert_eq!(c.end.as_ref().map(|e| e.finished_at), Some(at(4)));
        });
    }

    #[test]
    fn a_batch_that_fails_writes_none_of_its_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        store
            .lock()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN new.job = 'refused'
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .expect("trigger");
        runtime().block_on(async {
            let batch = [
                RunRecord::Started(start("a", 0)),
                RunRecord::Finished {
                    run: RunRef::InBatch(0),
                    end: end(1, RunOutcome::Succeeded, None),
                },
                RunRecord::Started(start("refused", 1)),
            ];
            let failed = store.record(&batch).await.expect_err("refused");
            assert!(failed.written.is_empty(), "{:?}", failed.written);
            assert!(
                failed.error.to_string().contains("refused"),
                "{}",
                failed.error
            );
            let all = store.history(&query(None, 10, false)).await.expect("read");
            assert!(all.is_empty(), "{all:?}");
        });
    }

    #[test]
    fn a_run_left_running_by_a_dead_watcher_is_lost() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        // A process that has exited: its pid is free (or reused, which this test tolerates
        // by not asserting when it is alive again).
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let me = Owner::this_process();
        let orphan = RunStart {
            owner: Owner {
                host: me.host.clone(),
                pid: dead,
            },
            ..start("a", 0)
        };
        runtime().block_on(async {
            store.run_started(&orphan).await.expect("start");
            let mine = store.run_started(&start("a", 1)).await.expect("start");
            if orphan.owner.alive_here() {
                return;
            }
            let seen = store.history(&query(None, 10, true)).await.expect("read");
            assert_eq!(seen.len(), 1, "shown as lost before anyone marks it");
            assert_eq!(
                store
                    .heartbeat(&me, std::time::Duration::ZERO)
                    .await
                    .expect("beat"),
                1
            );
            let runs = store.history(&query(None, 10, false)).await.expect("read");
            let outcomes: Vec<_> = runs
                .iter()
                .map(|r| r.end.as_ref().map(|e| e.outcome))
                .collect();
            assert_eq!(outcomes, [None, Some(RunOutcome::Lost)]);
            assert_eq!(runs[0].id, mine);
        });
    }

    #[test]
    fn a_reader_creates_nothing_and_reads_an_old_database_as_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(
            SqliteStore::open_existing(dir.path())
                .expect("no store")
                .is_none()
        );
        assert!(!dir.path().join(crate::store::STATE_DIR).exists());
        // A version-1 database, as the catch-up work wrote it.
        std::fs::create_dir(dir.path().join(".webstir")).expect("mkdir");
        let conn = Connection::open(dir.path().join(".webstir/state.db")).expect("create");
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1);
             CREATE TABLE job_fires (job TEXT PRIMARY KEY NOT NULL, last_due TEXT NOT NULL);",
        )
        .expect("v1");
        drop(conn);
        let reader = SqliteStore::open_existing(dir.path())
            .expect("opens")
            .expect("exists");
        assert!(
            reader
                .history_now(&query(None, 5, false))
                .expect("read")
                .is_empty()
        );
        // A watcher migrates it; the reader then sees the runs.
        let store = SqliteStore::open(dir.path()).expect("migrates");
        runtime().block_on(async {
            store
                .run_skipped(&start("a", 0), at(0))
                .await
                .expect("skip");
        });
        let reader = SqliteStore::open_existing(dir.path())
            .expect("opens")
            .expect("exists");
        assert_eq!(reader.last_runs_now().expect("read").len(), 1);
    }

    #[test]
    fn a_damaged_database_is_named_in_the_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join(".webstir")).expect("mkdir");
        std::fs::write(dir.path().join(".webstir/state.db"), vec![7u8; 4096]).expect("write");
        let error = SqliteStore::open(dir.path()).expect_err("refused");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains("state.db"), "{error}");
    }
}
