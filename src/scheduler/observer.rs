//! The one seam through which a run's life is seen from outside the scheduler: the engine and
//! the watch loop report each event to the [`RunObserver`]s next to the log line they write.
//! The `--http` server (metrics, status page) and the run history's writer are the observers.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::store::RunOutcome;

/// What happened to a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEventKind {
    /// An attempt started (its child process is about to be spawned); each retry is an
    /// attempt of its own, with its own run id.
    Started,
    /// An attempt ended: `outcome` is how (succeeded, failed, timed-out, killed) and `error`
    /// why when it did not succeed. An attempt that could not start (module missing) ends
    /// right after its `Started`.
    Finished {
        duration: Duration,
        outcome: RunOutcome,
        error: Option<String>,
        exit_status: Option<i32>,
    },
    /// A fire was skipped because the previous run was still active.
    Skipped,
    /// A failed run is tried again (retry policy).
    Retried,
    /// A fire missed while the watcher was down is run late (catch-up policy).
    CatchUp,
}

/// One event of one run of a job (and tenant, when the job runs per tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    /// Unique within this process: the `Started` and `Finished` of one attempt share it, even
    /// when runs of one job overlap (`allow`).
    pub run: u64,
    pub job: String,
    pub tenant: Option<String>,
    /// The schedule that fired, or `manual`.
    pub schedule: String,
    /// The due time of the fire (`WEBSTIR_FIRE_TIME`); `None` when the reporter did not know
    /// it.
    pub due: Option<DateTime<Utc>>,
    /// 1 for the first try, 2 for the first retry, ...
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub kind: RunEventKind,
}

/// A fresh run id.
pub fn next_run_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Receives run events. Called on the scheduler's event loop: implementations must be quick
/// and must not block (update counters, push to a buffer or a channel).
pub trait RunObserver: Send + Sync {
    fn observe(&self, event: &RunEvent);
}

/// The observers of a scheduler run, printable so that the engine keeps its `Debug`.
#[derive(Clone, Default)]
pub struct Observer(Vec<Arc<dyn RunObserver>>);

impl Observer {
    pub fn new(observer: Arc<dyn RunObserver>) -> Observer {
        Observer(vec![observer])
    }

    /// Adds `observer` after the ones already there.
    pub fn add(&mut self, observer: Arc<dyn RunObserver>) {
        self.0.push(observer);
    }

    /// Reports `event` to every observer.
    pub fn emit(&self, event: &RunEvent) {
        for observer in &self.0 {
            observer.observe(event);
        }
    }

    /// Reports an event of a new run id happening now, its due time unknown.
    pub fn notify(&self, job: &str, tenant: Option<&str>, schedule: &str, kind: RunEventKind) {
        if self.0.is_empty() {
            return;
        }
        self.emit(&RunEvent {
            run: next_run_id(),
            job: job.to_owned(),
            tenant: tenant.map(str::to_owned),
            schedule: schedule.to_owned(),
            due: None,
            attempt: 1,
            at: Utc::now(),
            kind,
        });
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Observer({} set)", self.0.len())
    }
}
