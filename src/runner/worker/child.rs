//! One worker: a long-lived Node (or Bun) process in its own process group, the tasks that read
//! its report pipe and its output streams, and the handle the runs it runs share.
//!
//! The worker dies with the scheduler the way a run of the process runner does: the kernel kills
//! it when the scheduler dies (`PR_SET_PDEATHSIG`), the sentinel kills its group, and dropping
//! the last handle kills the group.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::protocol::{self, EnvChange, Load, Message, REPORT_FD, REQUEST_FD, Request};
use super::version::FileId;
use crate::runner::output::{Lines, OutputNote};
use crate::runner::process::{GroupGuard, LINGER, LineSink, Stream, kill_group};
use crate::runner::{Failure, reaper, sentinel};

/// How many of a worker's finished runs keep their output attributed (a timer a run left
/// behind may still print); older runs' late output is dropped. Runs in flight are all kept.
const REMEMBERED_RUNS: usize = 16;

/// How a run ended, as its worker reported it.
#[derive(Debug)]
pub(super) struct Done {
    pub outcome: Result<(), Failure>,
    /// What the process runner's script would have exited with.
    pub exit_code: i32,
    /// The worker's resident memory then.
    pub rss: Option<u64>,
}

/// A run the worker was handed and has not reported done.
struct Pending {
    key: String,
    done: oneshot::Sender<Done>,
    /// Being stopped (timeout, stop request): it does not hold the worker's kill back.
    stopping: bool,
}

/// What a worker's runs and the pool know about it.
#[derive(Default)]
pub(super) struct State {
    pending: HashMap<u64, Pending>,
    /// Takes no new run: it is stale, worn, asked to exit, or being stopped.
    pub draining: bool,
    /// Why it is being killed, for the runs it takes with it.
    stopped_because: Option<String>,
    /// Closed its request pipe (or killed): nobody needs to retire it again.
    retired: bool,
    /// Modules it has imported, with the file they were imported from.
    pub loaded: HashMap<PathBuf, FileId>,
    /// The build it imported its first module from: modules import each other, so a worker
    /// whose build changed could hand a new module an old dependency.
    pub build: Option<Option<FileId>>,
    /// Runs it was handed.
    pub started: u32,
    /// Runs it reported done.
    pub runs: u32,
    pub rss: u64,
}

impl State {
    /// Runs in flight.
    pub fn load(&self) -> usize {
        self.pending.len()
    }
}

/// What the worker's reader tasks and its runs share.
struct Shared {
    state: Mutex<State>,
    outputs: Mutex<Outputs>,
    /// How many runs are in flight, for a run waiting for the others to end.
    load: watch::Sender<usize>,
    /// The pool's: told whenever a slot may have freed or the worker exited.
    pool_changed: Arc<Notify>,
}

/// A live worker process, shared by the runs it runs.
pub(super) struct Worker {
    pid: i32,
    /// The request pipe; `None` once the worker is retired (the pipe then closes, after the
    /// lines still queued for it).
    requests: Mutex<Option<Requests>>,
    shared: Arc<Shared>,
    exit: watch::Receiver<Option<ExitStatus>>,
    /// The environment it was started with; each run sends only what differs.
    spawn_env: BTreeMap<OsString, OsString>,
    _group: GroupGuard,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts `node script` in `cwd` with `env`; `pool_changed` is told when its runs end and
    /// when it exits.
    pub fn spawn(
        node: &OsString,
        script: &Path,
        cwd: &Path,
        env: &BTreeMap<OsString, OsString>,
        pool_changed: Arc<Notify>,
    ) -> std::io::Result<Worker> {
        let (report_reader, report_writer) = std::io::pipe()?;
        let (request_reader, request_writer) = std::io::pipe()?;
        let mut command = tokio::process::Command::new(node);
        command
            .arg(script)
            .current_dir(cwd)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        crate::runner::spawn::die_with_scheduler_and_place(
            &mut command,
            &[
                (report_writer.as_raw_fd(), REPORT_FD),
                (request_reader.as_raw_fd(), REQUEST_FD),
            ],
        );
        let mut child = command.spawn()?;
        drop(report_writer);
        drop(request_reader);
        let pid = child.id().map_or(0, |id| id as i32);
        reaper::track(pid);
        sentinel::watch(pid);
        let group = GroupGuard(pid);
        let requests = Requests::new(tokio::net::unix::pipe::Sender::from_owned_fd(
            OwnedFd::from(request_writer),
        )?);
        let report = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(report_reader))?;

        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            outputs: Mutex::new(Outputs::default()),
            load: watch::Sender::new(0),
            pool_changed,
        });
        let (exit_tx, exit) = watch::channel(None);
        let (ended_tx, ended) = watch::channel(false);
        let mut readers = Vec::new();
        for (pipe, stream) in [
            (child.stdout.take().map(boxed), Stream::Stdout),
            (child.stderr.take().map(boxed), Stream::Stderr),
        ] {
            if let Some(pipe) = pipe {
                let shared = shared.clone();
                readers.push(tokio::spawn(read_until_ended(
                    pipe,
                    ended.clone(),
                    move |bytes| lock(&shared.outputs).stray(stream, bytes),
                )));
            }
        }
        let mut report_lines = ReportLines {
            shared: shared.clone(),
            partial: Vec::new(),
        };
        readers.push(tokio::spawn(read_until_ended(
            boxed(report),
            ended,
            move |bytes| report_lines.push(bytes),
        )));
        let pool_changed = shared.pool_changed.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            reaper::untrack(pid);
            // The group id stays reserved while any member lives: this reaches only leftovers.
            if kill_group(pid, libc::SIGKILL) {
                let _ = tokio::task::spawn_blocking(|| {
                    reaper::reap_orphans(Duration::from_millis(500))
                })
                .await;
            }
            let _ = ended_tx.send(true);
            // Every `done` the worker wrote is read before its runs hear that it exited.
            for reader in readers {
                let _ = reader.await;
            }
            // A wait that failed: the process is gone all the same.
            let status = status.unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
            let _ = exit_tx.send(Some(status));
            pool_changed.notify_waiters();
        });
        Ok(Worker {
            pid,
            requests: Mutex::new(Some(requests)),
            shared,
            exit,
            spawn_env: env.clone(),
            _group: group,
        })
    }

    /// The worker's bookkeeping; never held across an await.
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Whether the process is known to have exited.
    pub fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Takes a slot for run `id`: its output goes to `sink` from now on, and the receiver
    /// hears its `done` (carrying `key`).
    pub fn reserve(
        &self,
        state: &mut State,
        id: u64,
        key: String,
        sink: LineSink,
    ) -> oneshot::Receiver<Done> {
        let (done, heard) = oneshot::channel();
        state.pending.insert(
            id,
            Pending {
                key,
                done,
                stopping: false,
            },
        );
        state.started += 1;
        self.shared.load.send_replace(state.pending.len());
        lock(&self.shared.outputs).begin(id, sink);
        heard
    }

    /// Hands run `id` to the worker (written now when the pipe has room, else in the
    /// background).
    pub fn start(
        &self,
        id: u64,
        key: &str,
        module: &Path,
        args: &[String],
        env: &BTreeMap<OsString, OsString>,
    ) -> std::io::Result<()> {
        self.send(&Request {
            t: "run",
            id,
            key,
            module: &module.to_string_lossy(),
            args,
            env: EnvChange::between(&self.spawn_env, env),
        })
    }

    /// Asks the worker to import `module` now, ahead of its first run.
    pub fn preload(&self, module: &Path) -> std::io::Result<()> {
        self.send(&Load {
            t: "load",
            module: &module.to_string_lossy(),
        })
    }

    /// Writes one request line.
    fn send(&self, request: &impl serde::Serialize) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match &*lock(&self.requests) {
            Some(requests) => requests.send(line),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Forgets run `id` (its `done`, if one still comes, is ignored), forwards the rest of its
    /// last lines and returns what the log should say about its output.
    pub fn end(&self, id: u64) -> Vec<OutputNote> {
        {
            let mut state = self.state();
            state.pending.remove(&id);
            self.shared.load.send_replace(state.pending.len());
        }
        self.shared.pool_changed.notify_waiters();
        lock(&self.shared.outputs).flush(id)
    }

    /// Takes no new run, and blames `why` for the runs a kill takes with it.
    pub fn stop_because(&self, why: String) {
        let mut state = self.state();
        state.draining = true;
        state.stopped_because.get_or_insert(why);
        drop(state);
        self.shared.pool_changed.notify_waiters();
    }

    /// Why the worker was killed, if it was to stop one of its runs.
    pub fn stopped_because(&self) -> Option<String> {
        self.state().stopped_because.clone()
    }

    /// Marks run `id` as being stopped: a kill no longer waits for it.
    pub fn mark_stopping(&self, id: u64) {
        let mut state = self.state();
        if let Some(run) = state.pending.get_mut(&id) {
            run.stopping = true;
        }
        let load = state.pending.len();
        drop(state);
        // Wakes the runs waiting in `until_alone`.
        self.shared.load.send_replace(load);
    }

    /// Waits until no run other than `id` is in flight, runs being stopped aside (so that runs
    /// stopped together, as at shutdown, do not wait for each other).
    pub async fn until_alone(&self, id: u64) {
        let mut load = self.shared.load.subscribe();
        loop {
            load.borrow_and_update();
            // Checked with no borrow of the watch held: `reserve` and `end` lock the state first.
            if self
                .state()
                .pending
                .iter()
                .all(|(run, pending)| *run == id || pending.stopping)
            {
                return;
            }
            if load.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits for the worker to exit.
    pub async fn until_exit(&self) -> ExitStatus {
        let mut exit = self.exit.clone();
        let status = exit.wait_for(Option::is_some).await.ok().and_then(|s| *s);
        match status {
            Some(status) => status,
            // The task is gone without a word: the runtime is shutting down.
            None => std::future::pending().await,
        }
    }

    /// Sends `signal` to the worker's process group.
    pub fn signal(&self, signal: i32) {
        kill_group(self.pid, signal);
    }

    /// Marks the worker retired, once: true for the caller that should retire it.
    pub fn claim_retirement(state: &mut State) -> bool {
        !std::mem::replace(&mut state.retired, true)
    }

    /// Ends the worker the gentle way: no more requests, so it exits by itself once its runs
    /// end; SIGKILL if it has not within `patience`.
    pub async fn retire(self: Arc<Self>, patience: Duration) {
        lock(&self.requests).take();
        let _ = tokio::time::timeout(patience, self.until_exit()).await;
    }
}

/// The write end of a worker's request pipe. A line is written at once when nothing is queued
/// and the pipe takes it whole (a line up to `PIPE_BUF` bytes goes in whole or not at all), so
/// that a run's request reaches the worker without waiting for a task to be polled; otherwise
/// it is queued for a task that writes whole lines in order, whatever becomes of the run that
/// sent one.
struct Requests {
    pipe: Arc<tokio::net::unix::pipe::Sender>,
    queue: mpsc::UnboundedSender<Vec<u8>>,
    /// Lines handed to the task and not yet written whole.
    queued: Arc<Mutex<usize>>,
}

impl Requests {
    fn new(pipe: tokio::net::unix::pipe::Sender) -> Requests {
        let pipe = Arc::new(pipe);
        let queued = Arc::new(Mutex::new(0usize));
        let (queue, mut lines) = mpsc::unbounded_channel::<Vec<u8>>();
        let (writer, count) = (Arc::clone(&pipe), Arc::clone(&queued));
        tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                // A worker that stopped reading has died; its exit tells its runs.
                if write_whole(&writer, &line).await.is_err() {
                    break;
                }
                *lock(&count) -= 1;
            }
        });
        Requests {
            pipe,
            queue,
            queued,
        }
    }

    fn send(&self, mut line: Vec<u8>) -> std::io::Result<()> {
        let mut queued = lock(&self.queued);
        if *queued == 0 {
            match self.pipe.try_write(&line) {
                Ok(n) if n == line.len() => return Ok(()),
                Ok(n) => {
                    line.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        *queued += 1;
        self.queue
            .send(line)
            .map_err(|_| std::io::ErrorKind::BrokenPipe.into())
    }
}

async fn write_whole(
    pipe: &tokio::net::unix::pipe::Sender,
    mut line: &[u8],
) -> std::io::Result<()> {
    while !line.is_empty() {
        pipe.writable().await?;
        match pipe.try_write(line) {
            Ok(n) => line = &line[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

type BoxedPipe = Box<dyn AsyncRead + Send + Unpin>;

fn boxed(pipe: impl AsyncRead + Send + Unpin + 'static) -> BoxedPipe {
    Box::new(pipe)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads `pipe` into `take` until end of file or, once `ended` turns true, until it has been
/// quiet for [`LINGER`] (a process the job started may hold it open past the worker's exit).
async fn read_until_ended(
    mut pipe: BoxedPipe,
    mut ended: watch::Receiver<bool>,
    mut take: impl FnMut(&[u8]),
) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut ended_now = *ended.borrow();
    while !ended_now {
        tokio::select! {
            read = pipe.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => take(&chunk[..n]),
            },
            changed = ended.changed() => {
                ended_now = changed.is_err() || *ended.borrow();
            }
        }
    }
    while let Ok(Ok(n)) = tokio::time::timeout(LINGER, pipe.read(&mut chunk)).await {
        if n == 0 {
            return;
        }
        take(&chunk[..n]);
    }
}

/// The report pipe cut into messages.
struct ReportLines {
    shared: Arc<Shared>,
    partial: Vec<u8>,
}

/// Longer than any line the worker script writes (its output pieces are far smaller).
const MAX_REPORT_LINE: usize = 4 * 1024 * 1024;

impl ReportLines {
    fn push(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            // The worker script writes short lines (output in pieces); an endless line is a
            // job writing to descriptor 3 itself. Dropped, so that it cannot grow the
            // scheduler's memory without bound.
            if self.partial.len() > MAX_REPORT_LINE {
                self.partial.clear();
            }
            return;
        };
        let rest = self.partial.split_off(end + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        for line in complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // A line that is not a message was not written by the worker script (a job writing
            // to descriptor 3 itself); it carries nothing the scheduler can use.
            let Ok(message) = serde_json::from_slice::<Message>(line) else {
                continue;
            };
            match message {
                Message::Out { id, s, d } => {
                    lock(&self.shared.outputs).output(id, s.into(), d.as_bytes());
                }
                Message::Done {
                    id,
                    key,
                    ok,
                    kind,
                    message,
                    code,
                    rss,
                } => {
                    let mut state = lock(&self.shared.state);
                    // A `done` without the run's key was written by a job, not the worker
                    // script: the run goes on.
                    if state.pending.get(&id).is_none_or(|run| run.key != key) {
                        continue;
                    }
                    let Some(run) = state.pending.remove(&id) else {
                        continue;
                    };
                    self.shared.load.send_replace(state.pending.len());
                    drop(state);
                    let outcome = protocol::outcome(ok, kind, message, code);
                    let exit_code = match &outcome {
                        Ok(()) => 0,
                        Err(Failure::Exit(code)) => *code,
                        Err(_) => 1,
                    };
                    let _ = run.done.send(Done {
                        outcome,
                        exit_code,
                        rss,
                    });
                }
                Message::Drain => {
                    lock(&self.shared.state).draining = true;
                    self.shared.pool_changed.notify_waiters();
                }
            }
        }
    }
}

/// The line splitters of a worker's runs in flight and its latest finished ones.
#[derive(Default)]
struct Outputs {
    runs: VecDeque<RunOutput>,
}

struct RunOutput {
    id: u64,
    out: Lines,
    err: Lines,
    in_flight: bool,
}

impl Outputs {
    fn begin(&mut self, id: u64, sink: LineSink) {
        self.runs.push_back(RunOutput {
            id,
            out: Lines::new(Stream::Stdout, sink.clone()),
            err: Lines::new(Stream::Stderr, sink),
            in_flight: true,
        });
        self.forget_old();
    }

    fn forget_old(&mut self) {
        let finished = self.runs.iter().filter(|r| !r.in_flight).count();
        if finished > REMEMBERED_RUNS
            && let Some(oldest) = self.runs.iter().position(|r| !r.in_flight)
        {
            self.runs.remove(oldest);
        }
    }

    fn output(&mut self, id: u64, stream: Stream, bytes: &[u8]) {
        if let Some(run) = self.runs.iter_mut().rev().find(|run| run.id == id) {
            match stream {
                Stream::Stdout => run.out.push(bytes),
                Stream::Stderr => run.err.push(bytes),
            }
        }
    }

    /// Bytes written to the worker's real stdout or stderr (a child process, a direct write):
    /// they belong to the most recently started run still in flight, else to the latest run.
    fn stray(&mut self, stream: Stream, bytes: &[u8]) {
        let owner = self
            .runs
            .iter()
            .rev()
            .find(|run| run.in_flight)
            .or(self.runs.back())
            .map(|run| run.id);
        if let Some(id) = owner {
            self.output(id, stream, bytes);
        }
    }

    fn flush(&mut self, id: u64) -> Vec<OutputNote> {
        let notes = match self.runs.iter_mut().rev().find(|run| run.id == id) {
            Some(run) => {
                run.in_flight = false;
                run.out.flush().into_iter().chain(run.err.flush()).collect()
            }
            None => Vec::new(),
        };
        self.forget_old();
        notes
    }
}

#[cfg(test)]
mod report_line_tests {
    use super::*;

    fn lines() -> ReportLines {
        ReportLines {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                outputs: Mutex::new(Outputs::default()),
                load: watch::Sender::new(0),
                pool_changed: Arc::new(Notify::new()),
            }),
            partial: Vec::new(),
        }
    }

    fn pending(lines: &ReportLines, id: u64, key: &str) -> oneshot::Receiver<Done> {
        let (done, heard) = oneshot::channel();
        lock(&lines.shared.state).pending.insert(
            id,
            Pending {
                key: key.into(),
                done,
                stopping: false,
            },
        );
        heard
    }

    #[test]
    fn an_endless_line_on_the_report_pipe_is_dropped_and_later_messages_still_read() {
        let mut lines = lines();
        let mut heard = pending(&lines, 3, "k3");
        let junk = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            lines.push(&junk);
        }
        assert!(lines.partial.len() <= MAX_REPORT_LINE, "bounded");
        lines.push(b"\n{\"t\":\"done\",\"id\":3,\"key\":\"k3\",\"ok\":true}\n");
        assert!(lines.partial.is_empty());
        assert!(
            heard.try_recv().is_ok(),
            "the message after the junk is read"
        );
    }

    #[test]
    fn a_done_without_the_runs_key_is_ignored() {
        let mut lines = lines();
        let mut heard = pending(&lines, 5, "secret");
        lines.push(b"{\"t\":\"done\",\"id\":5,\"ok\":true}\n");
        lines.push(b"{\"t\":\"done\",\"id\":5,\"key\":\"guess\",\"ok\":true}\n");
        assert!(heard.try_recv().is_err(), "still in flight");
        lines.push(b"{\"t\":\"done\",\"id\":5,\"key\":\"secret\",\"ok\":true}\n");
        assert!(heard.try_recv().is_ok());
    }
}
