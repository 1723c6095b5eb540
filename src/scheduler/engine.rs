//! What every way of running jobs shares: the workspace's paths and environment, the Node
//! executable, limits, the log, and the stop switch; and running one job (once per tenant).

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::watch;

use super::fire::{Attempt, Fire};
use super::log::{Log, RunLabel};
use super::observer::{Observer, RunEvent, RunEventKind, RunObserver, RunOutcome, next_run_id};
use super::once::MANUAL;
use super::plan::PlannedJob;
use super::retry::{self, Ended, Tried};
use super::tenants;
use crate::manifest::policy::{RunnerKind, Tenants};
use crate::runner::{self, Failure, JobEnv, ModuleError, RunSpec, RunVars, StopRequest};

/// The shared context of a scheduler run.
#[derive(Debug)]
pub struct Engine {
    pub root: PathBuf,
    pub modules: runner::Modules,
    pub runner: PathBuf,
    pub node: OsString,
    pub env: JobEnv,
    pub grace: Duration,
    pub log: Log,
    /// Who else hears of each run (the `--http` server, the run history); see
    /// [`Engine::add_observer`].
    pub observer: Observer,
    /// The warm workers of jobs whose runner is `worker`; none start before such a run.
    pub workers: runner::worker::Pool,
    stop: watch::Receiver<StopRequest>,
}

/// How a job's runs went: the labels of the runs that failed.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    pub runs: usize,
    pub failed: Vec<String>,
}

impl Engine {
    /// An engine and the switch that stops its runs (SIGTERM, grace period, SIGKILL).
    pub fn new(
        root: &Path,
        runner: PathBuf,
        node: OsString,
        env: JobEnv,
        grace: Duration,
        log: Log,
    ) -> (Engine, watch::Sender<StopRequest>) {
        let (stop_tx, stop) = watch::channel(StopRequest::None);
        let engine = Engine {
            root: root.to_path_buf(),
            modules: runner::Modules::new(
                root,
                crate::workspace::Workspace::at(root).jobs_build_dir(),
            ),
            runner,
            node,
            env,
            grace,
            log,
            observer: Observer::default(),
            workers: runner::worker::Pool::default(),
            stop,
        };
        (engine, stop_tx)
    }

    /// The scheduler-wide stop switch, for runs that have no switch of their own.
    pub fn stop_switch(&self) -> watch::Receiver<StopRequest> {
        self.stop.clone()
    }

    /// Reports every run event to `observer` from now on, next to the log line.
    pub fn set_observer(&mut self, observer: Observer) {
        self.observer = observer;
    }

    /// Reports every run event to `observer` too, from now on.
    pub fn add_observer(&mut self, observer: Arc<dyn RunObserver>) {
        self.observer.add(observer);
    }

    /// Tells the observers about `label`'s run, its fire unknown.
    pub fn notify(&self, label: &RunLabel, schedule: &str, kind: RunEventKind) {
        self.observer
            .notify(&label.job, label.tenant.as_deref(), schedule, kind);
    }

    /// Tells the observers that `fire` of `label`'s job was skipped (overlap), with its due
    /// time, so that the run history records which fire it was.
    pub fn skipped(&self, label: &RunLabel, fire: &Fire) {
        self.emit(next_run_id(), label, fire, 1, RunEventKind::Skipped);
    }

    /// Tells the observers about attempt `attempt` (run id `run`) of `label`'s run of `fire`.
    fn emit(&self, run: u64, label: &RunLabel, fire: &Fire, attempt: u32, kind: RunEventKind) {
        self.observer.emit(&RunEvent {
            run,
            job: label.job.clone(),
            tenant: label.tenant.clone(),
            schedule: fire.schedule.clone(),
            due: Some(fire.due),
            attempt,
            at: chrono::Utc::now(),
            kind,
        });
    }

    /// The script that lists a job's tenants, installed beside the runner script.
    pub fn tenants_script(&self) -> PathBuf {
        self.runner.with_file_name(runner::TENANTS_FILE_NAME)
    }

    /// Runs `job` once (once per tenant when it has tenants, up to its `tenantConcurrency` at
    /// a time, each run isolated from the others' failures) for `fire`, each tenant's run
    /// retried as the job's retry policy says. `stop` stops these runs.
    pub async fn run_job(
        &self,
        job: &PlannedJob,
        fire: &Fire,
        args: &[String],
        stop: &watch::Receiver<StopRequest>,
    ) -> JobOutcome {
        let schedule = fire.schedule.as_str();
        let mut outcome = JobOutcome::default();
        let tenants: Vec<Option<String>> = match &job.tenants {
            Tenants::None => vec![None],
            Tenants::Static(ids) => ids.iter().cloned().map(Some).collect(),
            // Boxed: listing tenants runs a Node script, and its future (1.6 KB) would
            // otherwise be part of every run's task, tenants or not (1,000 jobs due at once:
            // 1.6 MB).
            Tenants::Dynamic => match Box::pin(tenants::list(self, job, fire, stop)).await {
                Ok(ids) => {
                    self.log.tenants_listed(&job.spec.name, schedule, &ids);
                    ids.into_iter().map(Some).collect()
                }
                Err(error) => {
                    self.log
                        .tenant_provider_failed(&job.spec.name, schedule, &error.to_string());
                    outcome.runs += 1;
                    outcome
                        .failed
                        .push(format!("{} (tenant provider)", job.spec.name));
                    let label = RunLabel {
                        job: job.spec.name.clone(),
                        tenant: None,
                    };
                    // A run of its own in the history: the fire did not happen, and why.
                    let run = next_run_id();
                    self.emit(run, &label, fire, 1, RunEventKind::Started);
                    self.emit(run, &label, fire, 1, not_started(&error.to_string()));
                    return outcome;
                }
            },
        };
        let labels = tenants.into_iter().map(|tenant| RunLabel {
            job: job.spec.name.clone(),
            tenant,
        });
        let limit = job.policies.tenant_concurrency.max(1);
        for (label, ok) in self.run_labels(job, labels, limit, fire, args, stop).await {
            outcome.runs += 1;
            if !ok {
                outcome.failed.push(label.to_string());
            }
        }
        outcome
    }

    /// Runs one run per label, at most `limit` at once, in label order as slots free up; no
    /// new run starts once `stop` is set. Returns each started run's success, in the order
    /// the runs ended.
    async fn run_labels(
        &self,
        job: &PlannedJob,
        labels: impl Iterator<Item = RunLabel>,
        limit: usize,
        fire: &Fire,
        args: &[String],
        stop: &watch::Receiver<StopRequest>,
    ) -> Vec<(RunLabel, bool)> {
        type Run<'a> = Pin<Box<dyn Future<Output = (RunLabel, bool)> + Send + 'a>>;
        let stopping = || *stop.borrow() != StopRequest::None;
        let mut labels = labels.peekable();
        let mut active: Vec<Run<'_>> = Vec::new();
        let mut ended = Vec::new();
        // A hand-rolled join: the runs borrow the engine, so they cannot be spawned as tasks.
        std::future::poll_fn(|cx| {
            loop {
                while active.len() < limit && !stopping() {
                    let Some(label) = labels.next() else { break };
                    active.push(Box::pin(async move {
                        let ok = self.run_one(job, &label, fire, args, stop).await;
                        (label, ok)
                    }));
                }
                let before = active.len();
                let mut i = 0;
                while i < active.len() {
                    if let Poll::Ready(done) = active[i].as_mut().poll(cx) {
                        ended.push(done);
                        drop(active.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
                if active.is_empty() && (labels.peek().is_none() || stopping()) {
                    return Poll::Ready(());
                }
                // A run that ended frees a slot: fill it now rather than at the next wake.
                if active.len() == before {
                    return Poll::Pending;
                }
            }
        })
        .await;
        ended
    }

    /// One tenant's run of a fire, with its retries; true when it succeeded.
    async fn run_one(
        &self,
        job: &PlannedJob,
        label: &RunLabel,
        fire: &Fire,
        args: &[String],
        stop: &watch::Receiver<StopRequest>,
    ) -> bool {
        let ended = retry::with_retries(
            job.policies.retry.as_ref(),
            stop,
            |attempt| self.attempt(job, label, fire, args, stop, attempt),
            |next, delay| {
                self.log.retrying(label, &fire.schedule, next, delay);
                self.emit(
                    next_run_id(),
                    label,
                    fire,
                    next.number,
                    RunEventKind::Retried,
                );
            },
        )
        .await;
        match ended {
            Ended::Succeeded => true,
            Ended::Failed => false,
            Ended::Cancelled(failed) => {
                self.log.retry_cancelled(label, &fire.schedule, failed);
                false
            }
        }
    }

    async fn attempt(
        &self,
        job: &PlannedJob,
        label: &RunLabel,
        fire: &Fire,
        args: &[String],
        stop: &watch::Receiver<StopRequest>,
        attempt: Attempt,
    ) -> Tried {
        let schedule = fire.schedule.as_str();
        // A manual run still shows when the job normally runs, as `--list` does.
        let shown = if schedule == MANUAL && !job.spec.schedules.is_empty() {
            job.spec.schedules.join(", ")
        } else {
            schedule.to_owned()
        };
        self.log.running(label, &shown, fire, attempt);
        // Each attempt is a run of its own in the history, with its own id.
        let run = next_run_id();
        self.emit(run, label, fire, attempt.number, RunEventKind::Started);
        if attempt.number == 1 && fire.catch_up {
            self.emit(run, label, fire, 1, RunEventKind::CatchUp);
        }
        let module = match self.modules.find(&job.spec.name) {
            Ok(module) => module,
            Err(error) => {
                let message = self.module_error_message(&job.spec.name, &error);
                self.log.not_started(label, schedule, &message);
                self.emit(run, label, fire, attempt.number, not_started(&message));
                return Tried::FailedForGood;
            }
        };
        let fire_time = fire.due_text();
        let spec = RunSpec {
            node: self.node.clone(),
            runner: self.runner.clone(),
            module,
            args: args.to_vec(),
            env: self.env.for_run(RunVars {
                job: &job.spec.name,
                schedule,
                tenant: label.tenant.as_deref(),
                fire_time: &fire_time,
                attempt: attempt.number,
            }),
            cwd: self.root.clone(),
            timeout: job.timeout,
            grace: self.grace,
        };
        let log = self.log;
        let sink_label = label.clone();
        let sink: runner::LineSink =
            Arc::new(move |stream, line| log.output(&sink_label, stream, line));
        let result = match job.policies.runner {
            RunnerKind::Process => runner::run(spec, sink, stop.clone()).await,
            RunnerKind::Worker => self.workers.run(spec, sink, stop.clone()).await,
        };
        for note in &result.notes {
            self.log.output_note(label, schedule, *note);
        }
        self.emit(
            run,
            label,
            fire,
            attempt.number,
            RunEventKind::Finished {
                duration: result.duration,
                outcome: outcome_of(&result.outcome),
                error: result.outcome.as_ref().err().map(ToString::to_string),
                exit_status: result.exit_code,
            },
        );
        match &result.outcome {
            Ok(()) => {
                self.log
                    .completed(label, schedule, result.duration, attempt);
                Tried::Succeeded
            }
            Err(failure) => {
                let retryable = is_retryable(failure);
                // A failure no retry can fix is the run's last word, whatever attempt it was.
                let last = !retryable || attempt.is_last();
                self.log
                    .failed(label, schedule, failure, &result, attempt, last);
                if retryable {
                    Tried::Failed
                } else {
                    Tried::FailedForGood
                }
            }
        }
    }

    pub(super) fn module_error_message(&self, name: &str, error: &ModuleError) -> String {
        match error {
            ModuleError::NotFound { looked_for } => {
                let paths: Vec<String> = looked_for.iter().map(|p| self.display_path(p)).collect();
                format!(
                    "job module not found (looked for {}); build the jobs with `webstir build`",
                    paths.join(" and ")
                )
            }
            ModuleError::BadName => format!(
                "the name `{name}` cannot name a folder under build/backend/jobs (it must be a single folder name)"
            ),
            ModuleError::OutsideWorkspace { path } => format!(
                "refusing to run {}: it is a symbolic link that leads outside the workspace",
                self.display_path(path)
            ),
        }
    }

    fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// Whether another attempt might succeed: a failure of the job's own run, not of its setup
/// (Node missing, module unloadable) nor a stop the scheduler asked for.
fn is_retryable(failure: &Failure) -> bool {
    match failure {
        Failure::Threw(_)
        | Failure::Exit(_)
        | Failure::Signal(_)
        | Failure::TimedOut(_)
        | Failure::WorkerStopped(_) => true,
        Failure::Spawn { .. }
        | Failure::NoRunExport(_)
        | Failure::Import(_)
        | Failure::Stopped(_) => false,
    }
}

/// How the history names the end of a run.
fn outcome_of(outcome: &Result<(), Failure>) -> RunOutcome {
    match outcome {
        Ok(()) => RunOutcome::Succeeded,
        Err(Failure::TimedOut(_)) => RunOutcome::TimedOut,
        Err(Failure::Stopped(_)) => RunOutcome::Killed,
        Err(_) => RunOutcome::Failed,
    }
}

/// The end of a run that never started.
fn not_started(reason: &str) -> RunEventKind {
    RunEventKind::Finished {
        duration: Duration::ZERO,
        outcome: RunOutcome::Failed,
        error: Some(reason.to_owned()),
        exit_status: None,
    }
}
