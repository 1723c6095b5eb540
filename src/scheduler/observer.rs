//! The one seam through which a run's life is seen from outside the scheduler: the engine and
//! the watch loop report each event to an optional [`RunObserver`] next to the log line they
//! write. The `--http` server (metrics, status page) is the observer today; a run store can be
//! another.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// What happened to a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEventKind {
    /// A run started (its child process is about to be spawned).
    Started,
    /// A run ended; `error` is `None` when it succeeded. A run that could not start (module
    /// missing) ends without having started.
    Finished {
        duration: Duration,
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
    pub job: String,
    pub tenant: Option<String>,
    /// The schedule that fired, or `manual`.
    pub schedule: String,
    pub at: DateTime<Utc>,
    pub kind: RunEventKind,
}

/// Receives run events. Called on the scheduler's event loop: implementations must be quick
/// and must not block (update counters, push to a buffer).
pub trait RunObserver: Send + Sync {
    fn observe(&self, event: &RunEvent);
}

/// An optional observer, printable so that the engine keeps its `Debug`.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn RunObserver>>);

impl Observer {
    pub fn new(observer: Arc<dyn RunObserver>) -> Observer {
        Observer(Some(observer))
    }

    /// Reports an event happening now; nothing when no observer is set.
    pub fn notify(&self, job: &str, tenant: Option<&str>, schedule: &str, kind: RunEventKind) {
        if let Some(observer) = &self.0 {
            observer.observe(&RunEvent {
                job: job.to_owned(),
                tenant: tenant.map(str::to_owned),
                schedule: schedule.to_owned(),
                at: Utc::now(),
                kind,
            });
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}
