//! What every way of running jobs shares: the workspace's paths and environment, the Node
//! executable, limits, the log, and the stop switch; and running one job (once per tenant).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::log::{Log, RunLabel};
use super::observer::{Observer, RunEventKind};
use super::once::MANUAL;
use super::plan::PlannedJob;
use crate::manifest::policy::Tenants;
use crate::runner::{self, JobEnv, ModuleError, RunSpec, RunVars, StopRequest};

/// The shared context of a scheduler run.
#[derive(Debug)]
pub struct Engine {
    pub root: PathBuf,
    pub jobs_dir: PathBuf,
    pub runner: PathBuf,
    pub node: OsString,
    pub env: JobEnv,
    pub grace: Duration,
    pub log: Log,
    /// Who else hears of each run (the `--http` server); see [`Engine::set_observer`].
    pub observer: Observer,
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
            jobs_dir: crate::workspace::Workspace::at(root).jobs_build_dir(),
            runner,
            node,
            env,
            grace,
            log,
            observer: Observer::default(),
            stop,
        };
        (engine, stop_tx)
    }

    /// Reports every run event to `observer` from now on, next to the log line.
    pub fn set_observer(&mut self, observer: Observer) {
        self.observer = observer;
    }

    /// Tells the observer about `label`'s run.
    pub fn notify(&self, label: &RunLabel, schedule: &str, kind: RunEventKind) {
        self.observer
            .notify(&label.job, label.tenant.as_deref(), schedule, kind);
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow() != StopRequest::None
    }

    /// Runs `job` once (once per tenant, one after the other, when it has tenants) for
    /// `schedule` (the expression that fired, or `manual`).
    pub async fn run_job(&self, job: &PlannedJob, schedule: &str, args: &[String]) -> JobOutcome {
        let mut outcome = JobOutcome::default();
        let tenants: Vec<Option<&str>> = match &job.tenants {
            Tenants::None => vec![None],
            Tenants::Static(ids) => ids.iter().map(|t| Some(t.as_str())).collect(),
            Tenants::Dynamic => {
                let label = RunLabel {
                    job: job.spec.name.clone(),
                    tenant: None,
                };
                self.log.not_started(
                    &label,
                    schedule,
                    "`\"tenants\": \"dynamic\"` needs the tenant provider, which this build does not have yet",
                );
                self.notify(
                    &label,
                    schedule,
                    not_started("the tenant provider is not available"),
                );
                outcome.runs += 1;
                outcome.failed.push(label.to_string());
                return outcome;
            }
        };
        for tenant in tenants {
            if self.stopping() {
                break;
            }
            let label = RunLabel {
                job: job.spec.name.clone(),
                tenant: tenant.map(str::to_owned),
            };
            outcome.runs += 1;
            if !self.run_one(job, &label, schedule, args).await {
                outcome.failed.push(label.to_string());
            }
        }
        outcome
    }

    async fn run_one(
        &self,
        job: &PlannedJob,
        label: &RunLabel,
        schedule: &str,
        args: &[String],
    ) -> bool {
        // A manual run still shows when the job normally runs, as `--list` does.
        let shown = if schedule == MANUAL && !job.spec.schedules.is_empty() {
            job.spec.schedules.join(", ")
        } else {
            schedule.to_owned()
        };
        self.log.running(label, &shown, schedule);
        self.notify(label, schedule, RunEventKind::Started);
        let module = match runner::find_module(&self.root, &self.jobs_dir, &job.spec.name) {
            Ok(module) => module,
            Err(error) => {
                let message = self.module_error_message(&job.spec.name, &error);
                self.log.not_started(label, schedule, &message);
                self.notify(label, schedule, not_started(&message));
                return false;
            }
        };
        let spec = RunSpec {
            node: self.node.clone(),
            runner: self.runner.clone(),
            module,
            args: args.to_vec(),
            env: self.env.for_run(RunVars {
                job: &job.spec.name,
                schedule,
                tenant: label.tenant.as_deref(),
            }),
            cwd: self.root.clone(),
            timeout: job.timeout,
            grace: self.grace,
        };
        let log = self.log;
        let sink_label = label.clone();
        let sink: runner::LineSink =
            Arc::new(move |stream, line| log.output(&sink_label, stream, line));
        let result = runner::run(spec, sink, self.stop.clone()).await;
        for note in &result.notes {
            self.log.output_note(label, schedule, *note);
        }
        self.notify(
            label,
            schedule,
            RunEventKind::Finished {
                duration: result.duration,
                error: result.outcome.as_ref().err().map(ToString::to_string),
                exit_status: result.exit_code,
            },
        );
        match &result.outcome {
            Ok(()) => {
                self.log.completed(label, schedule, result.duration);
                true
            }
            Err(failure) => {
                self.log
                    .failed(label, schedule, failure, result.duration, result.exit_code);
                false
            }
        }
    }

    fn module_error_message(&self, name: &str, error: &ModuleError) -> String {
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

/// The end of a run that never started.
fn not_started(reason: &str) -> RunEventKind {
    RunEventKind::Finished {
        duration: Duration::ZERO,
        error: Some(reason.to_owned()),
        exit_status: None,
    }
}
