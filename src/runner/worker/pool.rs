//! The pool of warm workers. A run goes to a live worker that imported its module already and
//! has a free slot (the least loaded), else to a new worker while fewer than the pool's size
//! take runs, else to the least loaded worker with a free slot, else it waits for a slot.
//!
//! A worker that must stop taking runs drains: it is stale (its module or the build changed),
//! worn (`worker-max-runs`, `worker-max-memory`), asked to exit by a run (`process.exit`), or
//! being stopped for a run's timeout or stop request. A draining worker takes no new run and
//! does not count against the pool's size; it retires once its runs end, unless it is killed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot, watch};

use super::PoolConfig;
use super::child::{Done, Worker};
use super::version::{self, FileId};
use crate::runner::outcome::classify;
use crate::runner::process::stop_reached;
use crate::runner::{Failure, LineSink, RunResult, RunSpec, StopOutcome, StopRequest};

/// How long a retired worker gets to exit by itself before it is killed.
const RETIRE_PATIENCE: Duration = Duration::from_secs(5);

/// Long-lived workers that run job modules, up to `concurrency` runs at once each.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    workers: Mutex<Vec<Arc<Worker>>>,
    /// Told when a slot may have freed: a run ended, a worker drained or exited.
    changed: Arc<Notify>,
    next_id: AtomicU64,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(PoolConfig::default())
    }
}

enum Ending {
    Done(Done),
    Exited(std::process::ExitStatus),
    TimedOut,
    Stopped(StopOutcome),
}

/// Where a run goes.
enum Placed {
    Worker(Arc<Worker>, oneshot::Receiver<Done>),
    Wait,
    Failed(std::io::Error),
}

impl Pool {
    /// A pool that starts no worker before a run needs one.
    pub fn new(config: PoolConfig) -> Pool {
        Pool {
            config,
            workers: Mutex::new(Vec::new()),
            changed: Arc::new(Notify::new()),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn config(&self) -> PoolConfig {
        self.config
    }

    /// Runs the job in a worker, with the process runner's guarantees: the time limit kills the
    /// worker running it (once its other runs end, or after `spec.grace`), a stop request sends
    /// it SIGTERM once its other runs end and SIGKILL after `spec.grace`, and a worker that dies
    /// takes only the runs it had in flight with it. A stopped run's result comes once its code
    /// can no longer run. The time limit counts from the call, a wait for a free slot included.
    pub async fn run(
        &self,
        spec: RunSpec,
        sink: LineSink,
        mut stop: watch::Receiver<StopRequest>,
    ) -> RunResult {
        let started = Instant::now();
        let ended = |outcome, exit_code, notes| RunResult {
            duration: started.elapsed(),
            outcome,
            exit_code,
            notes,
        };
        let time_limit = async {
            match spec.timeout {
                Some(limit) => tokio::time::sleep_until((started + limit).into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(time_limit);
        let timed_out = || Err(Failure::TimedOut(spec.timeout.unwrap_or_default()));
        let module = FileId::of(&spec.module);
        let build = version::build_stamp(&spec.module).and_then(|p| FileId::of(&p));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = random_key();
        let (worker, done) = loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.place(&spec, module, build, id, &key, &sink) {
                Placed::Worker(worker, done) => break (worker, done),
                Placed::Failed(e) => {
                    let failure = Failure::Spawn {
                        node: spec.node.to_string_lossy().into_owned(),
                        message: e.to_string(),
                    };
                    return ended(Err(failure), None, Vec::new());
                }
                Placed::Wait => {}
            }
            tokio::select! {
                () = changed => {}
                () = stop_reached(&mut stop, StopRequest::Graceful) => {
                    return ended(Err(Failure::Stopped(StopOutcome::Ended)), None, Vec::new());
                }
                () = &mut time_limit => return ended(timed_out(), None, Vec::new()),
            }
        };
        // A worker that cannot take the request has died; its exit says why below.
        let _ = worker.start(id, &key, &spec.module, &spec.args, &spec.env);
        let job = job_name(&spec);
        tokio::pin!(done);
        let ending = tokio::select! {
            biased;
            done = &mut done => match done {
                Ok(done) => Ending::Done(done),
                Err(_) => Ending::Exited(worker.until_exit().await),
            },
            status = worker.until_exit() => Ending::Exited(status),
            () = &mut time_limit => {
                // Its code may still run: the worker takes no new run and is killed once its
                // other runs end, or when the grace period is over.
                worker.stop_because(format!("{job}'s run timed out"));
                worker.mark_stopping(id);
                tokio::select! {
                    () = worker.until_alone(id) => {}
                    () = tokio::time::sleep(spec.grace) => {}
                    () = stop_reached(&mut stop, StopRequest::Immediate) => {}
                }
                worker.signal(libc::SIGKILL);
                worker.until_exit().await;
                Ending::TimedOut
            }
            () = stop_reached(&mut stop, StopRequest::Graceful) => {
                // As for a timeout: the worker takes no new run, and its other runs may end
                // before it gets SIGTERM (runs stopped together, as at shutdown, do not wait
                // for each other); SIGKILL when the grace period is over.
                worker.stop_because(format!("{job}'s run was stopped"));
                worker.mark_stopping(id);
                let grace = tokio::time::sleep(spec.grace);
                tokio::pin!(grace);
                let immediate = stop_reached(&mut stop, StopRequest::Immediate);
                tokio::pin!(immediate);
                let first = tokio::select! {
                    _ = &mut done => Some(StopOutcome::Ended),
                    _ = worker.until_exit() => Some(StopOutcome::Ended),
                    () = worker.until_alone(id) => None,
                    () = &mut grace => Some(StopOutcome::KilledAfterGrace(spec.grace)),
                    () = &mut immediate => Some(StopOutcome::KilledOnRequest),
                };
                match first {
                    // It ended by itself while the others ran: the worker, draining, retires
                    // when they end.
                    Some(StopOutcome::Ended) => Ending::Stopped(StopOutcome::Ended),
                    Some(how) => {
                        worker.signal(libc::SIGKILL);
                        worker.until_exit().await;
                        Ending::Stopped(how)
                    }
                    None => {
                        worker.signal(libc::SIGTERM);
                        let how = tokio::select! {
                            _ = &mut done => StopOutcome::Ended,
                            _ = worker.until_exit() => StopOutcome::Ended,
                            () = &mut grace => StopOutcome::KilledAfterGrace(spec.grace),
                            () = &mut immediate => StopOutcome::KilledOnRequest,
                        };
                        // A worker asked to stop takes no other run, even when its job survived
                        // SIGTERM.
                        worker.signal(libc::SIGKILL);
                        worker.until_exit().await;
                        Ending::Stopped(how)
                    }
                }
            }
        };
        let notes = worker.end(id);
        let (outcome, exit_code) = match ending {
            Ending::Done(Done {
                outcome,
                exit_code,
                rss,
            }) => {
                let mut state = worker.state();
                state.runs += 1;
                state.rss = rss.unwrap_or(state.rss);
                if self.config.max_memory.is_some_and(|max| state.rss > max) {
                    state.draining = true;
                }
                (outcome, Some(exit_code))
            }
            Ending::Exited(status) => match worker.stopped_because() {
                Some(why) => (Err(Failure::WorkerStopped(why)), None),
                // Not this run's process.exit (that one reports done first): another run's, its
                // worker exiting before it read this run's request.
                None if status.success() => (
                    Err(Failure::WorkerStopped(
                        "another of its runs called process.exit".into(),
                    )),
                    None,
                ),
                None => classify(status, None),
            },
            Ending::TimedOut => (timed_out(), None),
            Ending::Stopped(how) => (Err(Failure::Stopped(how)), None),
        };
        retire_if_drained(&worker);
        ended(outcome, exit_code, notes)
    }

    /// Picks a worker for run `id` and takes a slot in it, starting a worker if that is the
    /// choice. Workers that exited are let go on the way, and stale ones start draining.
    fn place(
        &self,
        spec: &RunSpec,
        module: Option<FileId>,
        build: Option<FileId>,
        id: u64,
        key: &str,
        sink: &LineSink,
    ) -> Placed {
        let mut workers = lock(&self.workers);
        workers.retain(|worker| {
            if worker.has_exited() {
                return false;
            }
            let mut state = worker.state();
            let stale_build = state.build.is_some_and(|seen| seen != build);
            let stale_module = state
                .loaded
                .get(&spec.module)
                .is_some_and(|seen| Some(*seen) != module);
            if stale_build || stale_module {
                state.draining = true;
            }
            if state.draining {
                drop(state);
                retire_if_drained(worker);
                return false;
            }
            true
        });
        // Draining workers are out of the list: they take no run and leave room for others.
        let concurrency = self.config.concurrency.max(1);
        let mut warm: Option<(usize, usize)> = None;
        let mut any: Option<(usize, usize)> = None;
        for (i, worker) in workers.iter().enumerate() {
            let state = worker.state();
            let load = state.load();
            if load >= concurrency {
                continue;
            }
            let imported = module.is_some() && state.loaded.get(&spec.module) == module.as_ref();
            if imported && warm.is_none_or(|(_, least)| load < least) {
                warm = Some((i, load));
            }
            if any.is_none_or(|(_, least)| load < least) {
                any = Some((i, load));
            }
        }
        // Without a warm worker, a new one while the pool has room keeps the others warm for
        // their own jobs (and a job that kills its worker from taking another job's runs);
        // when it is full, the least loaded worker with a free slot.
        let chosen = match (warm, workers.len() < self.config.size.max(1), any) {
            (Some((i, _)), ..) => workers[i].clone(),
            (None, true, _) => match self.start_worker(spec) {
                Ok(worker) => {
                    workers.push(worker.clone());
                    worker
                }
                Err(e) => return Placed::Failed(e),
            },
            (None, false, Some((i, _))) => workers[i].clone(),
            (None, false, None) => return Placed::Wait,
        };
        drop(workers);
        let done = {
            let mut state = chosen.state();
            state.build.get_or_insert(build);
            if let Some(module) = module {
                state.loaded.insert(spec.module.clone(), module);
            }
            let done = chosen.reserve(&mut state, id, key.to_owned(), sink.clone());
            // Worn once it was handed its last run: it takes no more.
            if self.config.max_runs.is_some_and(|max| state.started >= max) {
                state.draining = true;
                // Out of the pool's count now: a run waiting for room may start a new worker.
                self.changed.notify_waiters();
            }
            done
        };
        Placed::Worker(chosen, done)
    }

    fn start_worker(&self, spec: &RunSpec) -> std::io::Result<Arc<Worker>> {
        let script = spec.runner.with_file_name(super::WORKER_FILE_NAME);
        Worker::spawn(
            &spec.node,
            &script,
            &spec.cwd,
            &spec.env,
            self.changed.clone(),
        )
        .map(Arc::new)
    }

    /// Starts a worker per module (never more than the pool's size) ahead of the first runs and
    /// has each module imported by one of them, so that the first fires wait neither for Node
    /// to start nor for an import. A worker that cannot be started is left to the first run,
    /// which reports why.
    pub fn prestart(
        &self,
        modules: &[std::path::PathBuf],
        node: &std::ffi::OsString,
        runner: &std::path::Path,
        cwd: &std::path::Path,
        env: &std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>,
    ) {
        let script = runner.with_file_name(super::WORKER_FILE_NAME);
        let mut workers = lock(&self.workers);
        while workers.len() < modules.len().min(self.config.size) {
            match Worker::spawn(node, &script, cwd, env, self.changed.clone()) {
                Ok(worker) => workers.push(Arc::new(worker)),
                Err(_) => break,
            }
        }
        if workers.is_empty() {
            return;
        }
        // Each module imported by one worker now, spread evenly: a run goes to the worker that
        // imported its module, so the first fires do not wait for imports either.
        for (i, module) in modules.iter().enumerate() {
            let Some(file) = FileId::of(module) else {
                continue;
            };
            let build = version::build_stamp(module).and_then(|p| FileId::of(&p));
            let worker = &workers[i % workers.len()];
            let mut state = worker.state();
            if state.build.is_some_and(|seen| seen != build) {
                continue;
            }
            state.build.get_or_insert(build);
            drop(state);
            if worker.preload(module).is_ok() {
                worker.state().loaded.insert(module.clone(), file);
            }
        }
    }

    /// Lets every idle worker go: each exits once it sees no more requests can come, and is
    /// killed if it has not within `patience`. Busy workers end with their runs (the stop
    /// switch reaches them).
    pub async fn shutdown(&self, patience: Duration) {
        let workers = std::mem::take(&mut *lock(&self.workers));
        let mut retiring = tokio::task::JoinSet::new();
        for worker in workers {
            let idle = {
                let mut state = worker.state();
                state.load() == 0 && Worker::claim_retirement(&mut state)
            };
            if idle {
                retiring.spawn(worker.retire(patience));
            }
        }
        while retiring.join_next().await.is_some() {}
    }
}

/// Retires a draining worker once it has no run in flight (it exits by itself when its request
/// pipe closes).
fn retire_if_drained(worker: &Arc<Worker>) {
    let retire = {
        let mut state = worker.state();
        state.draining && state.load() == 0 && Worker::claim_retirement(&mut state)
    };
    if retire && !worker.has_exited() {
        tokio::spawn(worker.clone().retire(RETIRE_PATIENCE));
    }
}

/// The job a run belongs to, for the runs its stop takes with it.
fn job_name(spec: &RunSpec) -> String {
    spec.env
        .get(std::ffi::OsStr::new("WEBSTIR_JOB"))
        .map(|name| name.to_string_lossy().into_owned())
        .or_else(|| {
            spec.module
                .parent()
                .and_then(|dir| dir.file_name())
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "another job".into())
}

/// 128 bits from the operating system, in hex: a run's key.
fn random_key() -> String {
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: the pointer and length describe the unfilled part of `bytes`.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n > 0 {
            filled += n as usize;
        } else if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            // No randomness to be had: a key a job cannot read is still better than none.
            let fallback = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                ^ u128::from(std::process::id()) << 64;
            bytes = fallback.to_le_bytes();
            break;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
