//! What the scheduler remembers between runs of the watcher: each job's last fire (catch-up),
//! the history of its runs, and, when several watchers share one PostgreSQL database, which of
//! them took each due fire. The scheduler sees only the [`RunStore`] trait (and the older
//! [`FireLog`], which it replaces), so either database can stand behind it.

pub mod location;
mod owner;
pub mod postgres;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use location::StoreLocation;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// How many runs per job the store keeps unless webstir.toml says otherwise.
pub const DEFAULT_HISTORY_LIMIT: usize = 1_000;

/// The folder under the workspace root that holds webstir's state.
pub const STATE_DIR: &str = ".webstir";

/// The last due time each job fired for.
pub trait FireLog {
    /// The due time of the job's latest recorded fire; `None` when it never fired.
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records that `job` fired for the due time `due`. A due time earlier than the one
    /// already recorded is ignored: the log only moves forward.
    fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "refusing to use `{}`: it is a symbolic link that leads outside the workspace",
        path.display()
    )]
    OutsideWorkspace { path: PathBuf },
    #[error("could not create `{}`: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state database `{}`: {source}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "`{}` is not a folder: webstir keeps its state (catch-up, run history) in a folder of that name; move the file away",
        path.display()
    )]
    NotAFolder { path: PathBuf },
    #[error(
        "state database `{}` is not a regular file (a folder, FIFO or device is there); move it aside and webstir starts a new one",
        path.display()
    )]
    NotAFile { path: PathBuf },
    #[error(
        "state database `{}` is damaged or not a SQLite database ({source}); move it aside and webstir starts a new one",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "state database `{}` was deleted or replaced while in use; restart the scheduler to start a new one",
        path.display()
    )]
    Gone { path: PathBuf },
    #[error("state database `{}`: the worker thread stopped: {message}", path.display())]
    Worker { path: PathBuf, message: String },
    #[error(
        "state database `{}` has schema version {found}, newer than this webstir understands ({supported}); upgrade webstir",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("unknown store `{value}`: expected {}", location::ACCEPTED)]
    UnknownStore { value: String },
    #[error("store `{location}`: {reason}")]
    BadUrl { location: String, reason: String },
    #[error(
        "could not reach the run store `{location}`: {cause}. Check that PostgreSQL runs at that host and port and accepts connections from this machine, that the user, password and database in the URL are right, and its sslmode (the URL comes from --store, WEBSTIR_STORE or `store` in webstir.toml)"
    )]
    Unreachable { location: String, cause: String },
    #[error("run store `{location}`: {cause}")]
    Remote { location: String, cause: String },
    #[error(
        "run store `{location}` has schema version {found}, newer than this webstir understands ({supported}); upgrade webstir on every replica"
    )]
    NewerRemoteSchema {
        location: String,
        found: i64,
        supported: i64,
    },
}

// ---------------------------------------------------------------------------------------------
// Run history and claims: the interface every store implements (SQLite by default, PostgreSQL
// with `--store postgres://...`). Async because the PostgreSQL client is; the SQLite store runs
// its statements on tokio's blocking pool. The watch loop never awaits a store call directly:
// run records go through a writer task, claims are awaited inside the run's own task.
// ---------------------------------------------------------------------------------------------

/// A row id in the store's run table.
pub type RunId = i64;

/// How a run ended, or that it has not ended yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Started and not finished (or its watcher is still alive and its heartbeat fresh).
    Running,
    Succeeded,
    /// Threw, rejected, exited non-zero, or could not start; the record's `error` says why.
    Failed,
    /// Stopped because it ran past its `timeout`.
    TimedOut,
    /// Not run: the previous run was still active (overlap `skip`, or a full queue).
    Skipped,
    /// Stopped by a signal to the watcher or by overlap `replace`.
    Killed,
    /// Its watcher died mid-run: no heartbeat within the lease.
    Lost,
}

impl RunOutcome {
    /// The word used in the store, `--history` and the JSON reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::TimedOut => "timed-out",
            RunOutcome::Skipped => "skipped",
            RunOutcome::Killed => "killed",
            RunOutcome::Lost => "lost",
        }
    }

    /// Whether `--history --failed` lists it.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            RunOutcome::Failed | RunOutcome::TimedOut | RunOutcome::Killed | RunOutcome::Lost
        )
    }
}

/// Which watcher process did something: written with each run and each claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
}

/// What is known when a run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStart {
    pub job: String,
    pub tenant: Option<String>,
    /// The schedule that fired, or `manual`.
    pub schedule: String,
    /// The due time it ran for (`WEBSTIR_FIRE_TIME`); `None` for a manual run.
    pub due: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    /// 1 for the first try, 2 for the first retry, ...
    pub attempt: u32,
    pub owner: Owner,
}

/// What is known when a run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub finished_at: DateTime<Utc>,
    pub outcome: RunOutcome,
    pub error: Option<String>,
    pub exit_status: Option<i32>,
}

/// One recorded run, as `--history`, `backend-inspect` and the status page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub id: RunId,
    pub start: RunStart,
    /// `None` while it runs.
    pub end: Option<RunEnd>,
}

/// Which runs `history` returns, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub job: Option<String>,
    pub limit: usize,
    /// Only failed, timed-out, killed and lost runs.
    pub failed_only: bool,
}

/// One record of a batch handed to [`RunStore::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRecord {
    /// A run that starts: as [`RunStore::run_started`].
    Started(RunStart),
    /// How a run ended: as [`RunStore::run_finished`].
    Finished { run: RunRef, end: RunEnd },
    /// A fire that did not run: as [`RunStore::run_skipped`].
    Skipped { run: RunStart, at: DateTime<Utc> },
}

/// Which run a [`RunRecord::Finished`] ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRef {
    /// A row the store returned for an earlier batch.
    Stored(RunId),
    /// The [`RunRecord::Started`] at this index of the same batch.
    InBatch(usize),
    /// A run whose start was never recorded (dropped from a full backlog): it is recorded
    /// whole, started as this says.
    Unrecorded(RunStart),
}

/// A batch that was not written whole: the ids of the records written before `error` (a
/// store that writes a batch in one transaction writes none of it).
#[derive(Debug)]
pub struct BatchError {
    pub written: Vec<Option<RunId>>,
    pub error: StoreError,
}

/// Where runs are recorded and fires are claimed.
#[async_trait::async_trait]
pub trait RunStore: Send + Sync + std::fmt::Debug {
    /// Where the store is, for messages: a path, or a URL without its password.
    fn location(&self) -> String;

    /// Whether several watchers may share this store, each due fire running on one of them
    /// (PostgreSQL); when false, `claim` always succeeds.
    fn shared(&self) -> bool;

    /// Records a run that starts now.
    async fn run_started(&self, run: &RunStart) -> Result<RunId, StoreError>;

    /// Records how run `id` ended, then keeps the job's newest runs (as many as the store was
    /// opened to keep: `history-limit`).
    async fn run_finished(&self, id: RunId, end: &RunEnd) -> Result<(), StoreError>;

    /// Records a fire that did not run (overlap): a run that starts and ends at once.
    async fn run_skipped(&self, run: &RunStart, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Writes `records` in order and returns, for each, the row id of a `Started` (`None` for
    /// the others). A store that can writes them in one transaction; this default writes them
    /// one by one and, on a failure, says how far it got.
    async fn record(&self, records: &[RunRecord]) -> Result<Vec<Option<RunId>>, BatchError> {
        let mut written: Vec<Option<RunId>> = Vec::with_capacity(records.len());
        for record in records {
            let step = match record {
                RunRecord::Started(start) => self.run_started(start).await.map(Some),
                RunRecord::Finished { run, end } => {
                    let id = match run {
                        RunRef::Stored(id) => Ok(*id),
                        RunRef::InBatch(index) => Ok(written
                            .get(*index)
                            .copied()
                            .flatten()
                            .expect("a batch refers only to a start before it")),
                        RunRef::Unrecorded(start) => self.run_started(start).await,
                    };
                    match id {
                        Ok(id) => self.run_finished(id, end).await.map(|()| None),
                        Err(error) => Err(error),
                    }
                }
                RunRecord::Skipped { run, at } => self.run_skipped(run, *at).await.map(|()| None),
            };
            match step {
                Ok(id) => written.push(id),
                Err(error) => return Err(BatchError { written, error }),
            }
        }
        Ok(written)
    }

    /// Recent runs, newest first.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError>;

    /// The newest run of each job that has one.
    async fn last_runs(&self) -> Result<Vec<StoredRun>, StoreError>;

    /// Takes the fire of `job` due at `due` for `owner`, in one statement against a unique
    /// key on (job, due): `true` for exactly one caller across every watcher sharing the store.
    async fn claim(&self, job: &str, due: DateTime<Utc>, owner: &Owner)
    -> Result<bool, StoreError>;

    /// Who holds the claim on `job`'s fire due at `due`, for the message that says why this
    /// watcher did not run it; `None` when unknown.
    async fn claimed_by(
        &self,
        _job: &str,
        _due: DateTime<Utc>,
    ) -> Result<Option<Owner>, StoreError> {
        Ok(None)
    }

    /// Says that `owner` is alive and its running runs are still running; runs of owners whose
    /// heartbeat is older than `lease` are marked `lost`. Returns how many were marked.
    async fn heartbeat(
        &self,
        owner: &Owner,
        lease: std::time::Duration,
    ) -> Result<usize, StoreError>;

    /// Says that `owner`, a watcher, stopped after its runs ended: it is no longer expected to
    /// send heartbeats. Nothing to do for a store no other watcher shares.
    async fn leave(&self, _owner: &Owner) -> Result<(), StoreError> {
        Ok(())
    }

    /// The due time of the job's latest recorded fire (catch-up); `None` when it never fired.
    async fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records that `job` fired for `due`; an earlier time than the recorded one is ignored.
    async fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError>;

    /// Checks that the store answers (`/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Opens the store at `location` for the workspace at `root`, keeping `keep` runs per job.
/// A PostgreSQL store is reached and migrated before this returns, so that a wrong URL stops
/// the watcher at start rather than at its first fire.
pub async fn open(
    root: &Path,
    location: &StoreLocation,
    keep: usize,
) -> Result<Arc<dyn RunStore>, StoreError> {
    match location {
        StoreLocation::Sqlite => Ok(Arc::new(SqliteStore::open(root)?.with_history_limit(keep))),
        StoreLocation::Postgres(url) => Ok(Arc::new(PostgresStore::connect(url, keep).await?)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A store that keeps what it is told in a list and fails from its `fail_at`-th write on,
    /// to see how far the default `record` says it got.
    #[derive(Debug, Default)]
    struct Listing {
        done: Mutex<Vec<String>>,
        fail_at: usize,
    }

    impl Listing {
        fn write(&self, what: String) -> Result<i64, StoreError> {
            let mut done = self.done.lock().expect("not poisoned");
            if done.len() + 1 >= self.fail_at {
                return Err(StoreError::Remote {
                    location: "listing".to_owned(),
                    cause: "down".to_owned(),
                });
            }
            done.push(what);
            Ok(done.len() as i64 + 100)
        }
    }

    #[async_trait::async_trait]
    impl RunStore for Listing {
        fn location(&self) -> String {
            "listing".to_owned()
        }
        fn shared(&self) -> bool {
            false
        }
        async fn run_started(&self, run: &RunStart) -> Result<RunId, StoreError> {
            self.write(format!("start {}", run.job))
        }
        async fn run_finished(&self, id: RunId, _end: &RunEnd) -> Result<(), StoreError> {
            self.write(format!("finish {id}")).map(drop)
        }
        async fn run_skipped(&self, run: &RunStart, _at: DateTime<Utc>) -> Result<(), StoreError> {
            self.write(format!("skip {}", run.job)).map(drop)
        }
        async fn history(&self, _query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError> {
            Ok(Vec::new())
        }
        async fn last_runs(&self) -> Result<Vec<StoredRun>, StoreError> {
            Ok(Vec::new())
        }
        async fn claim(&self, _: &str, _: DateTime<Utc>, _: &Owner) -> Result<bool, StoreError> {
            Ok(true)
        }
        async fn heartbeat(
            &self,
            _owner: &Owner,
            _lease: std::time::Duration,
        ) -> Result<usize, StoreError> {
            Ok(0)
        }
        async fn last_fire(&self, _job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
            Ok(None)
        }
        async fn record_fire(&self, _job: &str, _due: DateTime<Utc>) -> Result<(), StoreError> {
            Ok(())
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn start(job: &str) -> RunStart {
        RunStart {
            job: job.to_owned(),
            tenant: None,
            schedule: "rate(1 minute)".to_owned(),
            due: None,
            started_at: DateTime::UNIX_EPOCH,
            attempt: 1,
            owner: Owner::this_process(),
        }
    }

    fn end() -> RunEnd {
        RunEnd {
            finished_at: DateTime::UNIX_EPOCH,
            outcome: RunOutcome::Succeeded,
            error: None,
            exit_status: Some(0),
        }
    }

    fn batch() -> Vec<RunRecord> {
        vec![
            RunRecord::Started(start("a")),
            RunRecord::Finished {
                run: RunRef::InBatch(0),
                end: end(),
            },
            RunRecord::Finished {
                run: RunRef::Stored(7),
                end: end(),
            },
            RunRecord::Skipped {
                run: start("b"),
                at: DateTime::UNIX_EPOCH,
            },
        ]
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn the_default_batch_writes_in_order_and_resolves_starts_of_the_same_batch() {
        let store = Listing {
            fail_at: usize::MAX,
            ..Listing::default()
        };
        let written = block_on(store.record(&batch())).expect("written");
        assert_eq!(written, [Some(101), None, None, None]);
        assert_eq!(
            *store.done.lock().expect("not poisoned"),
            ["start a", "finish 101", "finish 7", "skip b"]
        );
    }

    #[test]
    fn the_default_batch_says_how_far_it_got_so_nothing_is_written_twice() {
        let store = Listing {
            fail_at: 3,
            ..Listing::default()
        };
        let failed = block_on(store.record(&batch())).expect_err("fails at the third");
        assert_eq!(failed.written, [Some(101), None]);
        assert!(
            failed.error.to_string().contains("down"),
            "{}",
            failed.error
        );
    }
}
