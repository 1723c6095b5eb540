//! [`RunStore`] in PostgreSQL (`--store postgres://...`): what lets several watchers share one
//! manifest. A pool of connections (deadpool) over tokio-postgres, TLS as the URL's `sslmode`
//! asks (see [`tls`]), tables created and upgraded by embedded migrations (see
//! [`migrations`]). A fire is claimed by one `INSERT ... ON CONFLICT DO NOTHING` against a
//! unique key on (job, due), so exactly one watcher gets each; the database's clock, not the
//! watchers', decides whose heartbeat has expired.
//!
//! The pool reconnects by itself: a connection that broke is thrown away when next taken
//! (each is checked with a round trip first), so a store that comes back is used again
//! without any action here.

pub mod migrations;
pub mod tls;

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::Row;

use super::location::redact;
use super::{
    HistoryQuery, Owner, RunEnd, RunId, RunOutcome, RunStart, RunStore, StoreError, StoredRun,
};

/// How long connecting (and waiting for a free connection) may take before the store counts
/// as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per watcher: runs, claims and the heartbeat are short statements.
const POOL_SIZE: usize = 4;

/// Claims older than this are deleted: every watcher that could race for a due time has long
/// decided by then (a catch-up is also recorded in `webstir_fires`, which stops a second one).
const CLAIM_RETENTION_SECS: f64 = 24.0 * 3600.0;

pub struct PostgresStore {
    pool: Pool,
    /// The URL without its password.
    location: String,
    keep: i64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url`, keeping `keep` runs per job, and applies missing migrations. An
    /// unreachable server is [`StoreError::Unreachable`], naming the URL without password.
    pub async fn connect(url: &str, keep: usize) -> Result<PostgresStore, StoreError> {
        let location = redact(url);
        let bad = |reason: String| StoreError::BadUrl {
            location: location.clone(),
            reason,
        };
        let (plain, tls) = tls::split_url(url).map_err(bad)?;
        let mut config: tokio_postgres::Config = plain
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(describe(&e)))?;
        config.ssl_mode(tls.ssl_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("webstir");
        }
        let connector = tls.connector().map_err(bad)?;
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let store = PostgresStore {
            pool,
            location,
            keep: i64::try_from(keep.max(1)).unwrap_or(i64::MAX),
        };
        let mut client = store
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unreachable {
                location: store.location.clone(),
                cause: pool_cause(&e),
            })?;
        migrations::migrate(&mut client, &store.location).await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Unreachable {
            location: self.location.clone(),
            cause: pool_cause(&e),
        })
    }

    fn remote(&self, e: &tokio_postgres::Error) -> StoreError {
        StoreError::Remote {
            location: self.location.clone(),
            cause: describe(e),
        }
    }

    /// Keeps the newest `keep` runs of `job`.
    async fn prune(&self, client: &deadpool_postgres::Client, job: &str) -> Result<(), StoreError> {
        client
            .execute(
                "DELETE FROM webstir_runs WHERE job = $1 AND id < (
                     SELECT id FROM webstir_runs WHERE job = $1
                     ORDER BY id DESC OFFSET $2::BIGINT - 1 LIMIT 1)",
                &[&job, &self.keep],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(())
    }
}

const RUN_COLUMNS: &str = "id, job, tenant, schedule, due, started_at, finished_at, outcome, \
                           error, attempt, exit_status, host, pid";

#[async_trait::async_trait]
impl RunStore for PostgresStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn shared(&self) -> bool {
        true
    }

    async fn run_started(&self, run: &RunStart) -> Result<RunId, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO webstir_runs
                     (job, tenant, schedule, due, started_at, outcome, attempt, host, pid)
                 VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8)
                 RETURNING id",
                &[
                    &run.job,
                    &run.tenant,
                    &run.schedule,
                    &run.due,
                    &run.started_at,
                    &i32::try_from(run.attempt).unwrap_or(i32::MAX),
                    &run.owner.host,
                    &pid(&run.owner),
                ],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(row.get(0))
    }

    async fn run_finished(&self, id: RunId, end: &RunEnd) -> Result<(), StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE webstir_runs SET finished_at = $2, outcome = $3, error = $4,
                     exit_status = $5,
                     duration_ms = GREATEST(0, (EXTRACT(EPOCH FROM ($2 - started_at)) * 1000)::BIGINT)
                 WHERE id = $1
                 RETURNING job",
                &[
                    &id,
                    &end.finished_at,
                    &end.outcome.as_str(),
                    &end.error,
                    &end.exit_status,
                ],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        if let Some(row) = row {
            let job: String = row.get(0);
            self.prune(&client, &job).await?;
        }
        Ok(())
    }

    async fn run_skipped(&self, run: &RunStart, at: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO webstir_runs
                     (job, tenant, schedule, due, started_at, finished_at, outcome, attempt,
                      duration_ms, host, pid)
                 VALUES ($1, $2, $3, $4, $5, $5, 'skipped', $6, 0, $7, $8)",
                &[
                    &run.job,
                    &run.tenant,
                    &run.schedule,
                    &run.due,
                    &at,
                    &i32::try_from(run.attempt).unwrap_or(i32::MAX),
                    &run.owner.host,
                    &pid(&run.owner),
                ],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        self.prune(&client, &run.job).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM webstir_runs
                     WHERE ($1::TEXT IS NULL OR job = $1)
                       AND (NOT $2 OR outcome IN ('failed', 'timed-out', 'killed', 'lost'))
                     ORDER BY id DESC LIMIT $3"
                ),
                &[&query.job, &query.failed_only, &limit],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(rows.iter().map(stored_run).collect())
    }

    async fn last_runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT DISTINCT ON (job) {RUN_COLUMNS} FROM webstir_runs
                     ORDER BY job, id DESC"
                ),
                &[],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(rows.iter().map(stored_run).collect())
    }

    async fn claim(
        &self,
        job: &str,
        due: DateTime<Utc>,
        owner: &Owner,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "INSERT INTO webstir_claims (job, due, host, pid) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (job, due) DO NOTHING
                 RETURNING 1",
                &[&job, &due, &owner.host, &pid(owner)],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(row.is_some())
    }

    async fn claimed_by(&self, job: &str, due: DateTime<Utc>) -> Result<Option<Owner>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT host, pid FROM webstir_claims WHERE job = $1 AND due = $2",
                &[&job, &due],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(row.map(|row| Owner {
            host: row.get(0),
            pid: u32::try_from(row.get::<_, i32>(1)).unwrap_or(0),
        }))
    }

    async fn heartbeat(&self, owner: &Owner, lease: Duration) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.remote(&e))?;
        tx.execute(
            "INSERT INTO webstir_watchers (host, pid) VALUES ($1, $2)
             ON CONFLICT (host, pid) DO UPDATE SET heartbeat = now()",
            &[&owner.host, &pid(owner)],
        )
        .await
        .map_err(|e| self.remote(&e))?;
        // A watcher whose heartbeat expired is gone: its running runs are lost. Deleting its
        // row marks them once; were it only cut off, its next heartbeat adds it back and its
        // runs' real ends overwrite `lost`.
        let lost = tx
            .execute(
                "WITH dead AS (
                     DELETE FROM webstir_watchers
                     WHERE heartbeat < now() - make_interval(secs => $1)
                     RETURNING host, pid
                 )
                 UPDATE webstir_runs r
                 SET outcome = 'lost', finished_at = now(),
                     error = 'its watcher ' || r.host || ':' || r.pid
                             || ' stopped sending heartbeats (lease ' || $1 || ' s)'
                 FROM dead
                 WHERE r.outcome = 'running' AND r.host = dead.host AND r.pid = dead.pid",
                &[&lease.as_secs_f64()],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        tx.execute(
            "DELETE FROM webstir_claims WHERE claimed_at < now() - make_interval(secs => $1)",
            &[&CLAIM_RETENTION_SECS],
        )
        .await
        .map_err(|e| self.remote(&e))?;
        tx.commit().await.map_err(|e| self.remote(&e))?;
        Ok(usize::try_from(lost).unwrap_or(usize::MAX))
    }

    async fn leave(&self, owner: &Owner) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM webstir_watchers WHERE host = $1 AND pid = $2",
                &[&owner.host, &pid(owner)],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(())
    }

    async fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT last_due FROM webstir_fires WHERE job = $1", &[&job])
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO webstir_fires (job, last_due) VALUES ($1, $2)
                 ON CONFLICT (job) DO UPDATE SET last_due = excluded.last_due
                 WHERE excluded.last_due > webstir_fires.last_due",
                &[&job, &due],
            )
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("SELECT 1", &[])
            .await
            .map_err(|e| self.remote(&e))?;
        Ok(())
    }
}

fn pid(owner: &Owner) -> i32 {
    i32::try_from(owner.pid).unwrap_or(i32::MAX)
}

fn stored_run(row: &Row) -> StoredRun {
    let outcome = outcome_of(row.get::<_, &str>("outcome"));
    let finished_at: Option<DateTime<Utc>> = row.get("finished_at");
    StoredRun {
        id: row.get("id"),
        start: RunStart {
            job: row.get("job"),
            tenant: row.get("tenant"),
            schedule: row.get("schedule"),
            due: row.get("due"),
            started_at: row.get("started_at"),
            attempt: u32::try_from(row.get::<_, i32>("attempt")).unwrap_or(1),
            owner: Owner {
                host: row.get("host"),
                pid: u32::try_from(row.get::<_, i32>("pid")).unwrap_or(0),
            },
        },
        end: match (outcome, finished_at) {
            (RunOutcome::Running, _) | (_, None) => None,
            (outcome, Some(finished_at)) => Some(RunEnd {
                finished_at,
                outcome,
                error: row.get("error"),
                exit_status: row.get("exit_status"),
            }),
        },
    }
}

/// The outcome a row names; a word from a newer webstir reads as a failure rather than
/// hiding the run.
fn outcome_of(word: &str) -> RunOutcome {
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

/// A client error for people: the server's own message when it sent one, else the cause
/// (connection refused, timed out, TLS failure ...).
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

fn pool_cause(e: &PoolError) -> String {
    match e {
        PoolError::Backend(e) => describe(e),
        PoolError::Timeout(_) => format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
        other => other.to_string(),
    }
}
