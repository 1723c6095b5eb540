//! What the watcher knows about its jobs while it runs: the planned jobs, the runs in
//! progress, the recent runs and the metrics. It hears of runs as the engine's
//! [`RunObserver`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use tokio::sync::watch;

use super::history::{MemoryHistory, Outcome, RunHistory, RunRecord};
use super::metrics::{Metrics, label};
use crate::runner::StopRequest;
use crate::schedule::ScheduleKind;
use crate::scheduler::PlannedJob;
use crate::scheduler::observer::{RunEvent, RunEventKind, RunObserver};
use crate::store::{HistoryQuery, RunStore};

/// How long `/healthz` and the page wait for the run store before calling it unreachable.
const STORE_PATIENCE: Duration = Duration::from_secs(2);

/// A run in progress: its job, tenant and start.
type Running = (String, Option<String>, DateTime<Utc>);

/// The watcher's jobs: what it started with, then each plan a manifest reload brings.
pub type Jobs = watch::Receiver<Arc<Vec<PlannedJob>>>;

pub struct Status {
    jobs: Jobs,
    /// When the watcher started: `rate(...)` schedules count from it.
    started: DateTime<Utc>,
    history: Arc<dyn RunHistory>,
    /// Where runs are kept across restarts; the memory history covers what the store's
    /// writer has not written yet, and the store when it cannot be read.
    store: Option<Arc<dyn RunStore>>,
    /// Whether the store answered the last time it was asked.
    store_reachable: AtomicBool,
    pub metrics: Metrics,
    /// The runs in progress, by run id.
    running: Mutex<HashMap<u64, Running>>,
    /// When each job last fired (a scheduled start or a skip).
    last_fired: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Set while the watch loop runs.
    watching: AtomicBool,
    stop: watch::Receiver<StopRequest>,
}

impl Status {
    /// The status of a watcher of `jobs` starting now, keeping runs in memory; `stop` tells it
    /// when the watcher is shutting down.
    pub fn new(jobs: Arc<Vec<PlannedJob>>, stop: watch::Receiver<StopRequest>) -> Status {
        Status::with_history(jobs, stop, Arc::new(MemoryHistory::default()))
    }

    pub fn with_history(
        jobs: Arc<Vec<PlannedJob>>,
        stop: watch::Receiver<StopRequest>,
        history: Arc<dyn RunHistory>,
    ) -> Status {
        let metrics = Metrics::new(jobs.iter().map(|j| j.spec.name.as_str()));
        Status {
            jobs: watch::channel(jobs).1,
            // Whole milliseconds: the next fire times it yields print without nanoseconds.
            started: Utc::now().trunc_subsecs(3),
            history,
            store: None,
            store_reachable: AtomicBool::new(true),
            metrics,
            running: Mutex::new(HashMap::new()),
            last_fired: Mutex::new(HashMap::new()),
            watching: AtomicBool::new(false),
            stop,
        }
    }

    /// Reads and writes past runs through `store` too, so that the page and `/api/runs`
    /// show runs from before this watcher started.
    pub fn with_store(mut self, store: Arc<dyn RunStore>) -> Status {
        self.store = Some(store);
        self
    }

    /// Follows the jobs `plans` publishes (manifest reloads) from now on.
    pub fn following(mut self, plans: Jobs) -> Status {
        self.jobs = plans;
        self
    }

    /// The jobs the watcher follows now, manual-only ones included.
    pub fn jobs(&self) -> Arc<Vec<PlannedJob>> {
        Arc::clone(&self.jobs.borrow())
    }

    pub fn history(&self) -> &dyn RunHistory {
        self.history.as_ref()
    }

    pub fn set_watching(&self, watching: bool) {
        self.watching.store(watching, Ordering::SeqCst);
    }

    /// Whether the watcher is shutting down (a signal arrived).
    pub fn stopping(&self) -> bool {
        *self.stop.borrow() != StopRequest::None
    }

    /// `Ok` while the watch loop runs, is not shutting down and its history is reachable;
    /// otherwise why not.
    pub fn health(&self) -> Result<(), &'static str> {
        if !self.watching.load(Ordering::SeqCst) {
            Err("the scheduling loop is not running")
        } else if self.stopping() {
            Err("the scheduler is shutting down")
        } else if !self.history.reachable() || !self.store_reachable.load(Ordering::SeqCst) {
            Err("the run history is not reachable")
        } else {
            Ok(())
        }
    }

    /// [`Status::health`], asking the store first whether it answers.
    pub async fn check_health(&self) -> Result<(), &'static str> {
        if let Some(store) = &self.store {
            let answered = tokio::time::timeout(STORE_PATIENCE, store.ping()).await;
            self.store_reachable
                .store(matches!(answered, Ok(Ok(()))), Ordering::SeqCst);
        }
        self.health()
    }

    /// The `limit` runs that started last, newest first, of `job` or of every job: from the
    /// store (older runs, other watchers) merged with this watcher's own, which the store's
    /// writer may not have written yet.
    pub async fn recent(&self, job: Option<&str>, limit: usize) -> Vec<RunRecord> {
        let mut runs = self.history.recent(job, limit);
        let Some(store) = &self.store else {
            return runs;
        };
        let query = HistoryQuery {
            job: job.map(str::to_owned),
            limit,
            failed_only: false,
        };
        match tokio::time::timeout(STORE_PATIENCE, store.history(&query)).await {
            Ok(Ok(stored)) => {
                self.store_reachable.store(true, Ordering::SeqCst);
                let mine: HashSet<_> = runs.iter().map(RunRecord::key).collect();
                runs.extend(
                    stored
                        .iter()
                        .filter_map(RunRecord::from_stored)
                        .filter(|run| !mine.contains(&run.key())),
                );
                runs.sort_by_key(|run| std::cmp::Reverse(run.started_at));
                runs.truncate(limit);
            }
            _ => self.store_reachable.store(false, Ordering::SeqCst),
        }
        runs
    }

    /// How many runs of `job` are in progress, over all its tenants.
    pub fn running(&self, job: &str) -> usize {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.values().filter(|(name, _, _)| name == job).count()
    }

    /// The time `job` is due next: the first fire time of its schedules after it last fired
    /// (or, before its first fire, the watcher's start). It stays in the past while a fire is
    /// missed, which is what a "job late" alert looks for. Cron and macro times are in the
    /// job's zone; `rate(...)` keeps the rhythm that began when the watcher started; `@reboot`
    /// is due at the start and never again.
    pub fn next_fire(&self, job: &PlannedJob) -> Option<DateTime<Utc>> {
        let last = self
            .last_fired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&job.spec.name)
            .copied();
        job.schedules
            .iter()
            .filter_map(|schedule| match schedule.kind() {
                // A second on: a fire observed a hair before its wall time must not yield the
                // same time again. Cron fires are at least a second apart.
                ScheduleKind::Cron | ScheduleKind::Macro => schedule
                    .next_after(
                        last.unwrap_or(self.started) + chrono::Duration::seconds(1),
                        job.tz,
                    )
                    .map(|t| t.with_timezone(&Utc)),
                ScheduleKind::Rate => {
                    let Some(last) = last else {
                        return Some(self.started);
                    };
                    let interval = chrono::Duration::from_std(schedule.interval()?).ok()?;
                    let millis = interval.num_milliseconds();
                    if millis <= 0 {
                        return None;
                    }
                    let elapsed = (last - self.started).num_milliseconds().max(0);
                    let periods = i32::try_from(elapsed / millis + 1).ok()?;
                    self.started.checked_add_signed(interval * periods)
                }
                ScheduleKind::Reboot => last.is_none().then_some(self.started),
            })
            .min()
    }

    /// The metrics text, with the next fire times brought up to date.
    pub fn scrape(&self) -> String {
        for job in self.jobs().iter() {
            let label = label(&job.spec.name);
            match self.next_fire(job) {
                Some(next) => {
                    self.metrics
                        .next_fire
                        .get_or_create(&label)
                        .set(next.timestamp_millis() as f64 / 1000.0);
                }
                None => {
                    self.metrics.next_fire.remove(&label);
                }
            }
        }
        self.metrics.encode()
    }

    fn fired(&self, event: &RunEvent) {
        if event.schedule != crate::scheduler::once::MANUAL {
            self.last_fired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(event.job.clone(), event.at);
        }
    }

    fn started(&self, event: &RunEvent) {
        // A retry is not a fire.
        if event.attempt == 1 {
            self.fired(event);
        }
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.insert(
            event.run,
            (event.job.clone(), event.tenant.clone(), event.at),
        );
        self.metrics.running.get_or_create(&label(&event.job)).inc();
    }

    /// The start time of the run of `event` that ends, if it had started.
    fn take_start(&self, event: &RunEvent) -> Option<DateTime<Utc>> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.remove(&event.run).map(|(_, _, at)| at)
    }

    fn finished(
        &self,
        event: &RunEvent,
        duration: std::time::Duration,
        outcome: Outcome,
        error: Option<&str>,
        exit_status: Option<i32>,
    ) {
        let label = label(&event.job);
        let started_at = self.take_start(event);
        if started_at.is_some() {
            self.metrics.running.get_or_create(&label).dec();
            self.metrics
                .duration
                .get_or_create(&label)
                .observe(duration.as_secs_f64());
        }
        self.metrics.runs.get_or_create(&label).inc();
        if error.is_some() {
            self.metrics.failures.get_or_create(&label).inc();
        } else {
            self.metrics
                .last_success
                .get_or_create(&label)
                .set(event.at.timestamp_millis() as f64 / 1000.0);
        }
        self.history.record(RunRecord {
            job: event.job.clone(),
            tenant: event.tenant.clone(),
            schedule: event.schedule.clone(),
            due: event.due,
            attempt: event.attempt,
            started_at: started_at.unwrap_or(event.at),
            finished_at: event.at,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            outcome,
            error: error.map(str::to_owned),
            exit_status,
        });
    }
}

impl RunObserver for Status {
    fn observe(&self, event: &RunEvent) {
        let label = label(&event.job);
        match &event.kind {
            RunEventKind::Started => self.started(event),
            RunEventKind::Finished {
                duration,
                outcome,
                error,
                exit_status,
            } => self.finished(event, *duration, *outcome, error.as_deref(), *exit_status),
            RunEventKind::Skipped => {
                self.fired(event);
                self.metrics.skips.get_or_create(&label).inc();
                self.history.record(RunRecord {
                    job: event.job.clone(),
                    tenant: event.tenant.clone(),
                    schedule: event.schedule.clone(),
                    due: event.due,
                    attempt: event.attempt,
                    started_at: event.at,
                    finished_at: event.at,
                    duration_ms: 0,
                    outcome: Outcome::Skipped,
                    error: None,
                    exit_status: None,
                });
            }
            RunEventKind::Retried => {
                self.metrics.retries.get_or_create(&label).inc();
            }
            RunEventKind::CatchUp => {
                self.metrics.catch_ups.get_or_create(&label).inc();
            }
        }
    }
}
