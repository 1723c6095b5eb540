//! The pool of warm workers: a run takes an idle worker (one that already imported its module,
//! if any), or starts one while fewer than the pool's size are alive, or waits for one; a worker
//! returns to the pool after a run that ended normally, and is replaced after anything else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};

use super::PoolConfig;
use super::child::{Event, Worker};
use super::version::{self, FileId};
use crate::runner::outcome::classify;
use crate::runner::process::stop_reached;
use crate::runner::{Failure, LineSink, RunResult, RunSpec, StopOutcome, StopRequest};

/// How long a retired worker gets to exit by itself before it is killed.
const RETIRE_PATIENCE: Duration = Duration::from_secs(5);

/// Long-lived workers that run job modules one run at a time.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    /// One permit per worker that may be alive; a run holds one while it runs.
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Worker>>,
    next_id: AtomicU64,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(PoolConfig::default())
    }
}

enum Ending {
    Event(Event),
    TimedOut,
    Stopped(StopOutcome),
}

impl Pool {
    /// A pool that starts no worker before a run needs one.
    pub fn new(config: PoolConfig) -> Pool {
        Pool {
            permits: Arc::new(Semaphore::new(config.size.max(1))),
            config,
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn config(&self) -> PoolConfig {
        self.config
    }

    /// Runs the job in a worker, with the process runner's guarantees: the time limit kills the
    /// worker running it, a stop request sends it SIGTERM and SIGKILL after `spec.grace`, and a
    /// worker that dies or is killed takes only its own run with it. The time limit counts from
    /// the call, a wait for a free worker included.
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
        let permit = tokio::select! {
            permit = self.permits.clone().acquire_owned() => {
                permit.expect("the pool never closes its semaphore")
            }
            () = stop_reached(&mut stop, StopRequest::Graceful) => {
                return ended(Err(Failure::Stopped(StopOutcome::Ended)), None, Vec::new());
            }
            () = &mut time_limit => return ended(timed_out(), None, Vec::new()),
        };
        let module = FileId::of(&spec.module);
        let build = version::build_stamp(&spec.module).and_then(|p| FileId::of(&p));
        let mut worker = match self.checkout(&spec, module, build) {
            Ok(worker) => worker,
            Err(e) => {
                let failure = Failure::Spawn {
                    node: spec.node.to_string_lossy().into_owned(),
                    message: e.to_string(),
                };
                return ended(Err(failure), None, Vec::new());
            }
        };
        worker.build.get_or_insert(build);
        if let Some(module) = module {
            worker.loaded.insert(spec.module.clone(), module);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // A worker that cannot take the request has died; its exit says why below.
        let _ = worker
            .start(id, &spec.module, &spec.args, &spec.env, sink)
            .await;
        let ending = tokio::select! {
            event = worker.until_end(id) => Ending::Event(event),
            () = &mut time_limit => {
                worker.signal(libc::SIGKILL);
                worker.until_exit().await;
                Ending::TimedOut
            }
            () = stop_reached(&mut stop, StopRequest::Graceful) => {
                worker.signal(libc::SIGTERM);
                let immediate = stop_reached(&mut stop, StopRequest::Immediate);
                let how = tokio::select! {
                    _ = worker.until_end(id) => StopOutcome::Ended,
                    () = tokio::time::sleep(spec.grace) => StopOutcome::KilledAfterGrace(spec.grace),
                    () = immediate => StopOutcome::KilledOnRequest,
                };
                // A worker asked to stop takes no other run, even when its job survived SIGTERM.
                worker.signal(libc::SIGKILL);
                worker.until_exit().await;
                Ending::Stopped(how)
            }
        };
        let notes = worker.flush(id);
        let (outcome, exit_code, healthy) = match ending {
            Ending::Event(Event::Done { outcome, rss, .. }) => {
                worker.runs += 1;
                worker.rss = rss.unwrap_or(worker.rss);
                // What the process runner's script exits with for the same outcome.
                let code = if outcome.is_ok() { 0 } else { 1 };
                (outcome, Some(code), true)
            }
            Ending::Event(Event::Exited(status)) => {
                let (outcome, code) = classify(status, None);
                (outcome, code, false)
            }
            Ending::TimedOut => (timed_out(), None, false),
            Ending::Stopped(how) => (Err(Failure::Stopped(how)), None, false),
        };
        if healthy {
            self.checkin(worker);
        }
        drop(permit);
        ended(outcome, exit_code, notes)
    }

    /// An idle worker for `spec`'s module, preferring one that imported it already, or a new
    /// one. Idle workers that died or imported an older build are let go on the way.
    fn checkout(
        &self,
        spec: &RunSpec,
        module: Option<FileId>,
        build: Option<FileId>,
    ) -> std::io::Result<Worker> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.retain_mut(|worker| {
            let stale_build = worker.build.is_some_and(|seen| seen != build);
            let stale_module = worker
                .loaded
                .get(&spec.module)
                .is_some_and(|seen| Some(*seen) != module);
            !(worker.has_exited() || stale_build || stale_module)
        });
        let warm = idle
            .iter()
            .rposition(|w| module.is_some() && w.loaded.get(&spec.module) == module.as_ref());
        // Without a warm worker, a new one while the pool has room keeps the others warm for
        // their own jobs (and a job that kills its worker from taking another job's); when it
        // is full, the idle worker that waited longest.
        let busy_others = self
            .config
            .size
            .saturating_sub(self.permits.available_permits() + 1);
        let full = idle.len() + busy_others >= self.config.size;
        let reuse = if full && !idle.is_empty() {
            Some(0)
        } else {
            None
        };
        if let Some(i) = warm.or(reuse) {
            return Ok(idle.remove(i));
        }
        drop(idle);
        let script = spec.runner.with_file_name(super::WORKER_FILE_NAME);
        Worker::spawn(&spec.node, &script, &spec.cwd, &spec.env)
    }

    /// Takes a worker back after a run, or retires it once it has run `max_runs` runs or grown
    /// past `max_memory`.
    fn checkin(&self, worker: Worker) {
        let worn = self.config.max_runs.is_some_and(|max| worker.runs >= max);
        let big = self.config.max_memory.is_some_and(|max| worker.rss > max);
        if worn || big {
            tokio::spawn(worker.retire(RETIRE_PATIENCE));
            return;
        }
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(worker);
    }

    /// Starts up to `count` workers ahead of the first runs (never more than the pool's size),
    /// so that the first fires do not wait for Node to start. A worker that cannot be started
    /// is left to the first run, which reports why.
    pub fn prestart(
        &self,
        count: usize,
        node: &std::ffi::OsString,
        runner: &std::path::Path,
        cwd: &std::path::Path,
        env: &std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>,
    ) {
        let script = runner.with_file_name(super::WORKER_FILE_NAME);
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while idle.len() < count.min(self.config.size) {
            match Worker::spawn(node, &script, cwd, env) {
                Ok(worker) => idle.push(worker),
                Err(_) => break,
            }
        }
    }

    /// Lets every idle worker go: each exits once it sees no more requests can come, and is
    /// killed if it has not within `patience`. Busy workers end with their runs (the stop
    /// switch reaches them).
    pub async fn shutdown(&self, patience: Duration) {
        let idle = std::mem::take(
            &mut *self
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut retiring = tokio::task::JoinSet::new();
        for worker in idle {
            retiring.spawn(worker.retire(patience));
        }
        while retiring.join_next().await.is_some() {}
    }
}
