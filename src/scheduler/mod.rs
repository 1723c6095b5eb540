//! The scheduler: runs the manifest's jobs once (`--job`, `--all`) or on their schedules
//! (`--watch`), each run in a Node.js child process (see [`crate::runner`]).

pub mod catch_up;
pub mod engine;
pub mod fire;
pub mod history;
pub mod jitter;
pub mod list;
pub mod log;
pub mod manual;
pub mod observer;
pub mod once;
pub mod overlap;
pub mod plan;
pub mod recorder;
pub mod reload;
pub mod retry;
pub mod shared;
pub mod shim_parent;
pub mod signals;
pub mod tenants;
pub mod wall_alarm;
pub mod watch;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use engine::Engine;
pub use list::{ListEntry, entries};
pub use log::{Log, RunLabel};
pub use plan::{PlanOptions, PlannedJob, plan, plan_jobs, select};

use crate::runner::{self, EnvError, JobEnv};
use crate::store::{RunStore, StoreLocation};
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("job '{name}' not found")]
    JobNotFound {
        name: String,
        suggestion: Option<String>,
    },
    #[error("`{}` is not a job name: {rule}", name.escape_debug())]
    NotAJobName { name: String, rule: &'static str },
    #[error("job `{job}`: {message}")]
    InvalidJob { job: String, message: String },
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("could not write the job runner script: {0}")]
    RunnerScript(std::io::Error),
    #[error("could not start the scheduler's event loop: {0}")]
    Runtime(std::io::Error),
    #[error("could not listen for SIGINT/SIGTERM: {0}")]
    Signals(std::io::Error),
    #[error("catch-up needs the scheduler's state: {0}")]
    State(#[from] crate::store::StoreError),
    #[error("run history: {0}")]
    History(crate::store::StoreError),
    #[error(
        "no job named `{name}` in the manifest or the run history (jobs: {})",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownHistoryJob { name: String, known: Vec<String> },
    /// The store chosen with `--store` (or `WEBSTIR_STORE`, or webstir.toml) cannot be used.
    #[error(transparent)]
    Store(crate::store::StoreError),
    #[error("could not serve HTTP on {addr}: {source}")]
    Http {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// How to run: once (the given jobs, or all) or watching their schedules.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Each job once, in order, passing `args` to `run()`.
    Once { args: Vec<String> },
    /// On their schedules until stopped; with `follow`, re-reading the manifest whenever
    /// `package.json` changes or SIGHUP arrives.
    Watch { follow: Option<Box<reload::Source>> },
}

/// Settings of a scheduler run, already merged from flags, environment and webstir.toml.
#[derive(Debug, Clone)]
pub struct Options {
    pub node: OsString,
    pub grace: Duration,
    /// `--http`: serve metrics and a status page while watching.
    pub http: Option<crate::http::HttpConfig>,
    /// The warm workers of jobs run by the `worker` runner.
    pub workers: runner::worker::PoolConfig,
    /// How many runs of each job the run history keeps (`history-limit`); `None`
    /// (`--no-history`) records none.
    pub history_limit: Option<usize>,
    /// `--store`: where runs are recorded and fires claimed.
    pub store: crate::store::StoreLocation,
}

/// What happened: how many runs, which failed, and the signal that ended it, if any.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub runs: usize,
    pub failed: Vec<String>,
    pub signal: Option<&'static str>,
    /// A watcher that was told to stop has done its job: the failures of its runs were
    /// reported as they happened and do not make it fail.
    pub watched_until_stopped: bool,
}

impl Summary {
    /// Whether the command succeeded (exit 0).
    pub fn success(&self) -> bool {
        self.failed.is_empty() || self.watched_until_stopped
    }
}

/// Runs `jobs` in `mode` in the workspace and reports through `log` as it goes.
pub fn run(
    workspace: &Workspace,
    jobs: Vec<PlannedJob>,
    mode: Mode,
    options: &Options,
    log: Log,
) -> Result<Summary, SchedulerError> {
    // The status page lists manual-only jobs too. Copied only for it: a copy of every job is
    // a few hundred bytes a job for the life of the watcher.
    let all_jobs = options.http.is_some().then(|| Arc::new(jobs.clone()));
    let jobs = match mode {
        Mode::Watch { .. } => {
            let jobs = watch::scheduled_only(jobs, &log);
            if jobs.is_empty() {
                log.notice("nothing-to-watch", None, "no scheduled jobs to watch");
                return Ok(Summary::default());
            }
            jobs
        }
        Mode::Once { .. } => jobs,
    };
    let env = JobEnv::load(workspace.root())?;
    let (runner, _temp_runner) = runner_script(workspace)?;
    runner::reaper::become_subreaper();
    // Before the runtime starts its threads: the sentinel is forked.
    if let Some(sentinel) = runner::sentinel::start() {
        runner::reaper::track(sentinel);
    }
    ignore_sigpipe();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SchedulerError::Runtime)?;
    let summary = runtime.block_on(async {
        // Before anything runs: a store that catch-up or the replicas need and cannot use
        // stops the start.
        let watching = matches!(mode, Mode::Watch { .. });
        let (memory, history) = open_stores(workspace, &jobs, watching, options, &log).await?;
        let mut signals = signals::Signals::install().map_err(SchedulerError::Signals)?;
        let (mut engine, stop) = Engine::new(
            workspace.root(),
            runner,
            options.node.clone(),
            env,
            options.grace,
            log,
        );
        engine.workers = runner::worker::Pool::new(options.workers);
        let recorder = history.clone().map(|store| {
            let (recorder, observer) = recorder::Recorder::start(store, log);
            engine.add_observer(observer);
            recorder
        });
        let summary = match mode {
            Mode::Once { args } => {
                let summary = once::run_once(&engine, &jobs, &args, &mut signals, &stop).await;
                engine.workers.shutdown(runner::worker::SHUTDOWN_PATIENCE).await;
                summary
            }
            Mode::Watch { follow } => {
                let alarm = wall_alarm::WallAlarm::new().map_err(SchedulerError::Runtime)?;
                let reloader = follow.and_then(|source| {
                    reload::Reloader::start(*source)
                        .map_err(|e| {
                            log.notice(
                                "not-following",
                                None,
                                &format!("cannot follow package.json ({e}); restart the scheduler after changing it"),
                            );
                        })
                        .ok()
                });
                let server = match (&options.http, all_jobs) {
                    (Some(config), Some(all_jobs)) => {
                        let mut status =
                            crate::http::Status::new(Arc::clone(&all_jobs), stop.subscribe());
                        if let Some(store) = &history {
                            status = status.with_store(Arc::clone(store));
                        }
                        if let Some(reloader) = &reloader {
                            status = status.following(reloader.plans(Arc::clone(&all_jobs)));
                        }
                        let status = Arc::new(status);
                        engine.add_observer(status.clone());
                        Some((config, status))
                    }
                    _ => None,
                };
                let warm: Vec<PathBuf> = jobs
                    .iter()
                    .filter(|j| j.policies.runner == crate::manifest::policy::RunnerKind::Worker)
                    .filter_map(|j| engine.modules.find(&j.spec.name).ok())
                    .collect();
                engine.workers.prestart(
                    &warm,
                    &engine.node,
                    &engine.runner,
                    &engine.root,
                    engine.env.base(),
                );
                let engine = Arc::new(engine);
                let mut manual_requests = None;
                let server = match server {
                    Some((config, status)) => {
                        let (requests, received) = manual::channel();
                        manual_requests = Some(received);
                        let server =
                            crate::http::Server::start(config, status, Arc::clone(&engine), requests)
                                .await
                                .map_err(|source| SchedulerError::Http {
                                    addr: config.addr,
                                    source,
                                })?;
                        engine.log.serving(&format!("http://{}", server.addr));
                        Some(server)
                    }
                    None => None,
                };
                let shared = memory.store.clone().filter(|store| store.shared());
                let summary = watch::watch(
                    Arc::clone(&engine),
                    jobs,
                    alarm,
                    &mut signals,
                    &stop,
                    memory,
                    watch::Inputs {
                        reloader,
                        manual: manual_requests,
                    },
                )
                .await;
                engine.workers.shutdown(runner::worker::SHUTDOWN_PATIENCE).await;
                // Its runs have ended: the others need not wait for its lease to run out. A
                // store that is away cannot be told; the lease then does it.
                if let Some(store) = shared {
                    let _ = store.leave(&crate::store::Owner::this_process()).await;
                }
                if let Some(server) = server {
                    server.shutdown().await;
                }
                summary
            }
        };
        if let Some(recorder) = recorder {
            recorder.close(recorder::FLUSH_PATIENCE).await;
        }
        Ok::<_, SchedulerError>(summary)
    })?;
    runner::reaper::reap_orphans(Duration::from_millis(200));
    Ok(summary)
}

/// Opens the run store: for the run history (unless `--no-history`), for catch-up, and for
/// the claims of a shared (PostgreSQL) store; works out what is owed since the last watcher
/// stopped. A PostgreSQL store that cannot be used, or a SQLite store that catch-up needs,
/// stops the start; a SQLite store wanted only for history is said once and the jobs run
/// without it: running them matters more.
async fn open_stores(
    workspace: &Workspace,
    jobs: &[PlannedJob],
    watching: bool,
    options: &Options,
    log: &Log,
) -> Result<(watch::Memory, Option<Arc<dyn RunStore>>), SchedulerError> {
    let limit = options
        .history_limit
        .unwrap_or(crate::store::DEFAULT_HISTORY_LIMIT);
    let catches_up = watching && jobs.iter().any(catch_up::tracked);
    let store: Arc<dyn RunStore> = match &options.store {
        location @ StoreLocation::Postgres(_) => {
            crate::store::open(workspace.root(), location, limit)
                .await
                .map_err(SchedulerError::Store)?
        }
        StoreLocation::Sqlite => {
            if !catches_up && options.history_limit.is_none() {
                return Ok((watch::Memory::default(), None));
            }
            match crate::store::SqliteStore::open(workspace.root()) {
                Ok(store) => Arc::new(store.with_history_limit(limit)),
                Err(error) if catches_up => return Err(SchedulerError::State(error)),
                Err(error) => {
                    log.notice(
                        "history",
                        None,
                        &format!(
                            "run history is off for this run: {error} (--no-history silences this)"
                        ),
                    );
                    return Ok((watch::Memory::default(), None));
                }
            }
        }
    };
    let history = options.history_limit.map(|_| Arc::clone(&store));
    if !watching || (!store.shared() && !catches_up) {
        return Ok((watch::Memory::default(), history));
    }
    let now = chrono::Utc::now();
    let owed = catch_up::owed(jobs, store.as_ref(), now)
        .await
        .map_err(SchedulerError::Store)?;
    let memory = watch::Memory {
        store: Some(store),
        owed,
        as_of: Some(now),
    };
    Ok((memory, history))
}

/// The runner script (and the tenant listing script beside it): installed in
/// `build/backend/jobs/` when that folder exists (a built workspace), otherwise written to a
/// temporary folder so that running never creates folders in the user's tree. The temporary
/// folder lives as long as the returned guard.
fn runner_script(
    workspace: &Workspace,
) -> Result<(PathBuf, Option<tempfile::TempDir>), SchedulerError> {
    let jobs_dir = workspace.jobs_build_dir();
    if jobs_dir.is_dir()
        && !crate::fsutil::is_symlink(&jobs_dir)
        && let Ok(path) = runner::install_runner_script(&jobs_dir)
    {
        return Ok((path, None));
    }
    // A read-only or missing build folder: the scripts import their modules by absolute path,
    // so they can live anywhere.
    let temp = tempfile::Builder::new()
        .prefix("webstir-runner-")
        .tempdir()
        .map_err(SchedulerError::RunnerScript)?;
    let path = runner::install_runner_script(temp.path()).map_err(SchedulerError::RunnerScript)?;
    Ok((path, Some(temp)))
}

/// A reader that goes away (`webstir scheduler --watch | head`) must not kill the scheduler
/// while it supervises children; writes then fail and are dropped instead. Children get the
/// default disposition back at exec (the standard library resets it).
fn ignore_sigpipe() {
    // SAFETY: changing a signal disposition to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}
