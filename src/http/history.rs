//! Recent runs, kept in memory per job: what the status page and `/api/runs` show. Behind
//! [`RunHistory`] so that a persistent run store can take its place without touching the
//! server.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many runs of each job the in-memory history keeps.
pub const RUNS_PER_JOB: usize = 50;

/// How a run ended: the run store's words (`succeeded`, `failed`, `timed-out`, `skipped`,
/// `killed`, `lost`).
pub use crate::store::RunOutcome as Outcome;

/// One finished (or skipped) run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub job: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The schedule that fired, or `manual`.
    pub schedule: String,
    /// The due time of its fire (`WEBSTIR_FIRE_TIME`).
    #[serde(
        serialize_with = "rfc3339_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub due: Option<DateTime<Utc>>,
    /// 1 for the first try, 2 for the first retry, ...
    pub attempt: u32,
    /// When it started; for a run that never started or was skipped, when that was decided.
    #[serde(serialize_with = "rfc3339")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
}

fn rfc3339_opt<S: serde::Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, s),
        None => s.serialize_none(),
    }
}

fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl RunRecord {
    /// The run as the store returned it; `None` while it runs.
    pub fn from_stored(run: &crate::store::StoredRun) -> Option<RunRecord> {
        let end = run.end.as_ref()?;
        let start = &run.start;
        Some(RunRecord {
            job: start.job.clone(),
            tenant: start.tenant.clone(),
            schedule: start.schedule.clone(),
            due: start.due,
            attempt: start.attempt,
            started_at: start.started_at,
            finished_at: end.finished_at,
            duration_ms: u64::try_from((end.finished_at - start.started_at).num_milliseconds())
                .unwrap_or(0),
            outcome: end.outcome,
            error: end.error.clone(),
            exit_status: end.exit_status,
        })
    }

    /// What tells two records of one run apart from another's: the memory history and the
    /// store both hold this watcher's runs.
    pub fn key(&self) -> (String, Option<String>, DateTime<Utc>, u32) {
        (
            self.job.clone(),
            self.tenant.clone(),
            self.started_at,
            self.attempt,
        )
    }
}

/// Where recent runs are kept.
pub trait RunHistory: Send + Sync {
    fn record(&self, run: RunRecord);
    /// The `limit` runs that started last, newest first: of `job`, or of every job.
    fn recent(&self, job: Option<&str>, limit: usize) -> Vec<RunRecord>;
    /// Whether the history can be read and written (a store that lost its database cannot);
    /// `/healthz` reports 503 when it cannot.
    fn reachable(&self) -> bool {
        true
    }
}

/// The last [`RUNS_PER_JOB`] runs of each job, lost when the watcher stops.
#[derive(Debug, Default)]
pub struct MemoryHistory {
    runs: Mutex<HashMap<String, VecDeque<RunRecord>>>,
}

impl RunHistory for MemoryHistory {
    fn record(&self, run: RunRecord) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let ring = runs.entry(run.job.clone()).or_default();
        if ring.len() == RUNS_PER_JOB {
            ring.pop_front();
        }
        ring.push_back(run);
    }

    fn recent(&self, job: Option<&str>, limit: usize) -> Vec<RunRecord> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<RunRecord> = match job {
            Some(job) => runs.get(job).into_iter().flatten().cloned().collect(),
            None => runs.values().flatten().cloned().collect(),
        };
        // By start, as the page lists them; stable, so runs that started at the same instant
        // keep their order of arrival.
        found.sort_by_key(|run| std::cmp::Reverse(run.started_at));
        found.truncate(limit);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(job: &str, second: i64) -> RunRecord {
        let at = DateTime::from_timestamp(1_800_000_000 + second, 0).expect("a valid instant");
        RunRecord {
            job: job.to_owned(),
            tenant: None,
            schedule: "manual".to_owned(),
            due: None,
            attempt: 1,
            started_at: at,
            finished_at: at,
            duration_ms: 0,
            outcome: Outcome::Succeeded,
            error: None,
            exit_status: Some(0),
        }
    }

    #[test]
    fn keeps_the_newest_runs_of_each_job_up_to_the_bound() {
        let history = MemoryHistory::default();
        for second in 0..(RUNS_PER_JOB as i64 + 10) {
            history.record(run("a", second));
        }
        history.record(run("b", 1000));
        let a = history.recent(Some("a"), usize::MAX);
        assert_eq!(a.len(), RUNS_PER_JOB);
        assert_eq!(a[0], run("a", RUNS_PER_JOB as i64 + 9));
        assert_eq!(a[RUNS_PER_JOB - 1], run("a", 10));
        let all = history.recent(None, 2);
        assert_eq!(all, [run("b", 1000), run("a", RUNS_PER_JOB as i64 + 9)]);
        assert!(history.recent(Some("missing"), 5).is_empty());
    }
}
