//! `scheduler --history` and `backend-inspect`'s last runs: reading the run history back. The
//! store is opened for reading only; a workspace where no run was ever recorded has an empty
//! history, and reading it creates nothing.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::SchedulerError;
use super::plan::{PlannedJob, select};
use crate::store::{HistoryQuery, RunOutcome, RunStore, SqliteStore, StoreError, StoredRun};

/// How many runs `--history` lists unless `--limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;

/// One run as `--history --json` prints it. Every field is always there (`null` when it does
/// not apply), so that scripts can rely on the names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: i64,
    pub job: String,
    pub tenant: Option<String>,
    /// The schedule that fired, or `manual`.
    pub schedule: String,
    /// The due time of the fire (`WEBSTIR_FIRE_TIME`), RFC 3339 in UTC.
    pub due: Option<String>,
    pub started_at: String,
    /// `null` while it runs.
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    /// `running`, `succeeded`, `failed`, `timed-out`, `skipped`, `killed` or `lost`.
    pub outcome: RunOutcome,
    pub error: Option<String>,
    pub attempt: u32,
    pub exit_status: Option<i32>,
    pub host: String,
    pub pid: u32,
}

impl HistoryEntry {
    pub fn of(run: &StoredRun) -> HistoryEntry {
        let start = &run.start;
        let end = run.end.as_ref();
        HistoryEntry {
            id: run.id,
            job: start.job.clone(),
            tenant: start.tenant.clone(),
            schedule: start.schedule.clone(),
            due: start.due.map(time_text),
            started_at: time_text(start.started_at),
            finished_at: end.map(|e| time_text(e.finished_at)),
            duration_ms: end.map(|e| (e.finished_at - start.started_at).num_milliseconds()),
            outcome: end.map_or(RunOutcome::Running, |e| e.outcome),
            error: end.and_then(|e| e.error.clone()),
            attempt: start.attempt,
            exit_status: end.and_then(|e| e.exit_status),
            host: start.owner.host.clone(),
            pid: start.owner.pid,
        }
    }
}

/// RFC 3339 in UTC, with a fraction only when there is one (as `WEBSTIR_FIRE_TIME`).
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The workspace's run store, for reading; `None` when nothing was ever recorded.
pub fn reader(root: &Path) -> Result<Option<Arc<dyn RunStore>>, StoreError> {
    Ok(SqliteStore::open_existing(root)?.map(|store| Arc::new(store) as Arc<dyn RunStore>))
}

/// The runs `query` asks for, newest first; none when nothing was ever recorded.
pub fn read(root: &Path, query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError> {
    let Some(store) = reader(root)? else {
        return Ok(Vec::new());
    };
    block_on(async { store.history(query).await })
}

/// The newest run of each job; none when nothing was ever recorded.
pub fn last_runs(root: &Path) -> Result<Vec<StoredRun>, StoreError> {
    let Some(store) = reader(root)? else {
        return Ok(Vec::new());
    };
    block_on(async { store.last_runs().await })
}

/// The job `--history --job NAME` means: a job of the manifest (any spelling `--job` accepts),
/// or a name the history holds runs of (a job since removed or renamed).
pub fn resolve_job(jobs: &[PlannedJob], name: &str, root: &Path) -> Result<String, SchedulerError> {
    if let Ok(found) = select(jobs, &[name.to_owned()]) {
        return Ok(found[0].spec.name.clone());
    }
    let query = HistoryQuery {
        job: Some(name.to_owned()),
        limit: 1,
        failed_only: false,
    };
    if !read(root, &query)
        .map_err(SchedulerError::History)?
        .is_empty()
    {
        return Ok(name.to_owned());
    }
    Err(SchedulerError::UnknownHistoryJob {
        name: name.to_owned(),
        known: jobs.iter().map(|j| j.spec.name.clone()).collect(),
    })
}

/// `2026-12-01T06:00:00.123Z` as `2026-12-01T06:00:00Z`: the table is for reading; the JSON
/// keeps the fraction.
fn whole_seconds(text: &str) -> String {
    match text.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => text.to_owned(),
    }
}

fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Worker {
            path: Default::default(),
            message: e.to_string(),
        })?
        .block_on(future)
}

/// The runs as a text table: started, job, tenant, schedule, due, attempt, duration, outcome
/// and the first line of the error.
pub fn table(entries: &[HistoryEntry]) -> Vec<String> {
    let dash = || "-".to_owned();
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|e| {
            [
                whole_seconds(&e.started_at),
                e.job.clone(),
                e.tenant.clone().unwrap_or_else(dash),
                e.schedule.clone(),
                e.due.as_deref().map_or_else(dash, whole_seconds),
                e.attempt.to_string(),
                match (e.outcome, e.duration_ms) {
                    (RunOutcome::Skipped, _) | (_, None) => dash(),
                    (_, Some(ms)) => format!("{ms}ms"),
                },
                e.outcome.as_str().to_owned(),
                e.error
                    .as_deref()
                    .and_then(|text| text.lines().next())
                    .unwrap_or("")
                    .to_owned(),
            ]
        })
        .collect();
    let header = [
        "STARTED", "JOB", "TENANT", "SCHEDULE", "DUE", "ATTEMPT", "DURATION", "OUTCOME", "ERROR",
    ]
    .map(str::to_owned);
    let mut widths = [0usize; 9];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}
