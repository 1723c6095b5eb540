//! `scheduler --history` and `backend-inspect`'s last runs: reading the run history back. The
//! store is opened for reading only; a workspace where no run was ever recorded has an empty
//! history, and reading it creates nothing.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::SchedulerError;
use super::plan::{PlannedJob, select};
use crate::store::{
    HistoryQuery, RunOutcome, RunStore, SqliteStore, StoreError, StoreLocation, StoredRun,
};

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

/// The store the workspace's watchers record in when no `--store` is given: `WEBSTIR_STORE`,
/// else webstir.toml's `store`, else SQLite. A setting that cannot be read means SQLite here;
/// the scheduler itself reports it.
pub fn configured_location(workspace: &crate::workspace::Workspace) -> StoreLocation {
    let env = std::env::var("WEBSTIR_STORE").ok();
    let setting = crate::settings::Settings::load(workspace)
        .ok()
        .and_then(|s| s.store);
    StoreLocation::resolve(env.as_deref(), setting.as_deref()).unwrap_or(StoreLocation::Sqlite)
}

/// The workspace's run store at `location`, for reading; `None` when a SQLite store was never
/// created (nothing is created to read it).
fn reader(root: &Path, location: &StoreLocation) -> Result<Option<Arc<dyn RunStore>>, StoreError> {
    match location {
        StoreLocation::Sqlite => {
            Ok(SqliteStore::open_existing(root)?.map(|store| Arc::new(store) as Arc<dyn RunStore>))
        }
        StoreLocation::Postgres(_) => block_on(async {
            crate::store::open(root, location, crate::store::DEFAULT_HISTORY_LIMIT)
                .await
                .map(Some)
        }),
    }
}

/// The runs `query` asks for, newest first; none when nothing was ever recorded.
pub fn read(
    root: &Path,
    location: &StoreLocation,
    query: &HistoryQuery,
) -> Result<Vec<StoredRun>, StoreError> {
    let Some(store) = reader(root, location)? else {
        return Ok(Vec::new());
    };
    block_on(async { store.history(query).await })
}

/// The newest run of each job; none when nothing was ever recorded.
pub fn last_runs(root: &Path, location: &StoreLocation) -> Result<Vec<StoredRun>, StoreError> {
    let Some(store) = reader(root, location)? else {
        return Ok(Vec::new());
    };
    block_on(async { store.last_runs().await })
}

/// The job `--history --job NAME` means: a job of the manifest (any spelling `--job` accepts),
/// or a name the history holds runs of (a job since removed or renamed).
pub fn resolve_job(
    jobs: &[PlannedJob],
    name: &str,
    root: &Path,
    location: &StoreLocation,
) -> Result<String, SchedulerError> {
    if let Ok(found) = select(jobs, &[name.to_owned()]) {
        return Ok(found[0].spec.name.clone());
    }
    let query = HistoryQuery {
        job: Some(name.to_owned()),
        limit: 1,
        failed_only: false,
    };
    if !read(root, location, &query)
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

/// `text` safe in one table row: a job's error is arbitrary, and a carriage return, an escape
/// sequence, a Unicode line separator or a bidi override would break the row or rewrite the
/// terminal, so those are shown escaped (`\r`, `\u{1b}`).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            let invisible = matches!(
                c,
                '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
            );
            if c.is_control() || invisible {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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
        .map(|row: [String; 9]| row.map(|cell| one_line(&cell)))
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
