//! What the watcher knows about its jobs while it runs: the planned jobs, the runs in
//! progress, the recent runs and the metrics. It hears of runs as the engine's
//! [`RunObserver`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, Utc};
use tokio::sync::watch;

use super::history::{MemoryHistory, Outcome, RunHistory, RunRecord};
use super::metrics::{Metrics, label};
use crate::runner::StopRequest;
use crate::schedule::ScheduleKind;
use crate::scheduler::PlannedJob;
use crate::scheduler::observer::{RunEvent, RunEventKind, RunObserver};

/// A run of one job for one tenant (or none).
type RunKey = (String, Option<String>);

pub struct Status {
    jobs: Arc<Vec<PlannedJob>>,
    /// When the watcher started: `rate(...)` schedules count from it.
    started: DateTime<Utc>,
    history: Arc<dyn RunHistory>,
    pub metrics: Metrics,
    /// The start times of the runs in progress.
    running: Mutex<HashMap<RunKey, Vec<DateTime<Utc>>>>,
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
            jobs,
            // Whole milliseconds: the next fire times it yields print without nanoseconds.
            started: Utc::now().trunc_subsecs(3),
            history,
            metrics,
            running: Mutex::new(HashMap::new()),
            last_fired: Mutex::new(HashMap::new()),
            watching: AtomicBool::new(false),
            stop,
        }
    }

    pub fn jobs(&self) -> &[PlannedJob] {
        &self.jobs
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
        } else if !self.history.reachable() {
            Err("the run history is not reachable")
        } else {
            Ok(())
        }
    }

    /// How many runs of `job` are in progress, over all its tenants.
    pub fn running(&self, job: &str) -> usize {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running
            .iter()
            .filter(|((name, _), _)| name == job)
            .map(|(_, starts)| starts.len())
            .sum()
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
        for job in self.jobs.iter() {
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
        self.fired(event);
        let key = (event.job.clone(), event.tenant.clone());
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.entry(key).or_default().push(event.at);
        self.metrics.running.get_or_create(&label(&event.job)).inc();
    }

    /// The start time of the run of `event` that ends, if it had started.
    fn take_start(&self, event: &RunEvent) -> Option<DateTime<Utc>> {
        let key = (event.job.clone(), event.tenant.clone());
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let starts = running.get_mut(&key)?;
        let start = (!starts.is_empty()).then(|| starts.remove(0));
        if starts.is_empty() {
            running.remove(&key);
        }
        start
    }

    fn finished(
        &self,
        event: &RunEvent,
        duration: std::time::Duration,
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
            started_at: started_at.unwrap_or(event.at),
            finished_at: event.at,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            outcome: if error.is_some() {
                Outcome::Failed
            } else {
                Outcome::Succeeded
            },
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
                error,
                exit_status,
            } => self.finished(event, *duration, error.as_deref(), *exit_status),
            RunEventKind::Skipped => {
                self.fired(event);
                self.metrics.skips.get_or_create(&label).inc();
                self.history.record(RunRecord {
                    job: event.job.clone(),
                    tenant: event.tenant.clone(),
                    schedule: event.schedule.clone(),
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
