//! One worker: a long-lived Node (or Bun) process in its own process group, the tasks that read
//! its report pipe and its output streams, and the handle a run holds while the worker runs it.
//!
//! The worker dies with the scheduler the way a run of the process runner does: the kernel kills
//! it when the scheduler dies (`PR_SET_PDEATHSIG`), the sentinel kills its group, and dropping
//! the handle kills the group.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::protocol::{self, EnvChange, Message, REPORT_FD, REQUEST_FD, Request};
use super::version::FileId;
use crate::runner::output::{Lines, OutputNote};
use crate::runner::process::{GroupGuard, LINGER, LineSink, Stream, kill_group};
use crate::runner::{Failure, reaper, sentinel};

/// How many of a worker's runs keep their output attributed after they ended (a timer a run
/// left behind may still print); older runs' late output is dropped.
const REMEMBERED_RUNS: usize = 16;

/// What the worker's tasks tell the run that holds it.
#[derive(Debug)]
pub(super) enum Event {
    /// Run `id` ended with this outcome; `rss` is the worker's resident memory then.
    Done {
        id: u64,
        outcome: Result<(), Failure>,
        rss: Option<u64>,
    },
    /// The worker process is gone.
    Exited(ExitStatus),
}

/// A live worker process.
pub(super) struct Worker {
    pid: i32,
    /// `None` once the worker is retired.
    requests: Option<tokio::net::unix::pipe::Sender>,
    events: mpsc::UnboundedReceiver<Event>,
    outputs: Arc<Mutex<Outputs>>,
    /// The environment it was started with; each run sends only what differs.
    spawn_env: BTreeMap<OsString, OsString>,
    /// Modules it has imported, with the file they were imported from.
    pub loaded: HashMap<PathBuf, FileId>,
    /// The build it imported its first module from: modules import each other, so a worker
    /// whose build changed could hand a new module an old dependency.
    pub build: Option<Option<FileId>>,
    pub runs: u32,
    pub rss: u64,
    exited: Option<ExitStatus>,
    _group: GroupGuard,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("pid", &self.pid)
            .field("runs", &self.runs)
            .field("rss", &self.rss)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts `node script` in `cwd` with `env`.
    pub fn spawn(
        node: &OsString,
        script: &Path,
        cwd: &Path,
        env: &BTreeMap<OsString, OsString>,
    ) -> std::io::Result<Worker> {
        let (report_reader, report_writer) = std::io::pipe()?;
        let (request_reader, request_writer) = std::io::pipe()?;
        let child_ends = [
            (report_writer.as_raw_fd(), REPORT_FD),
            (request_reader.as_raw_fd(), REQUEST_FD),
        ];
        let scheduler_pid = std::process::id() as libc::pid_t;
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
        // SAFETY: the closure runs between fork and exec and only calls async-signal-safe
        // functions (prctl, getppid, fcntl, dup2) on descriptors that exist in the child.
        unsafe {
            command.pre_exec(move || {
                // As for a run of the process runner (see `process.rs`).
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != scheduler_pid {
                    libc::_exit(1);
                }
                // Out of the way first, so that placing one end cannot overwrite the other.
                let mut moved = [0; 2];
                for (slot, (fd, _)) in moved.iter_mut().zip(child_ends) {
                    *slot = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
                    if *slot == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (fd, (_, target)) in moved.into_iter().zip(child_ends) {
                    if libc::dup2(fd, target) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        drop(report_writer);
        drop(request_reader);
        let pid = child.id().map_or(0, |id| id as i32);
        reaper::track(pid);
        sentinel::watch(pid);
        let group = GroupGuard(pid);
        let requests =
            tokio::net::unix::pipe::Sender::from_owned_fd(OwnedFd::from(request_writer))?;
        let report = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(report_reader))?;

        let outputs = Arc::new(Mutex::new(Outputs::default()));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (ended_tx, ended) = watch::channel(false);
        let mut readers = Vec::new();
        for (pipe, stream) in [
            (child.stdout.take().map(boxed), Stream::Stdout),
            (child.stderr.take().map(boxed), Stream::Stderr),
        ] {
            if let Some(pipe) = pipe {
                let outputs = outputs.clone();
                readers.push(tokio::spawn(read_until_ended(
                    pipe,
                    ended.clone(),
                    move |bytes| lock(&outputs).stray(stream, bytes),
                )));
            }
        }
        let mut report_lines = ReportLines {
            outputs: outputs.clone(),
            events: events_tx.clone(),
            partial: Vec::new(),
        };
        readers.push(tokio::spawn(read_until_ended(
            boxed(report),
            ended,
            move |bytes| report_lines.push(bytes),
        )));
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
            for reader in readers {
                let _ = reader.await;
            }
            if let Ok(status) = status {
                let _ = events_tx.send(Event::Exited(status));
            }
        });
        Ok(Worker {
            pid,
            requests: Some(requests),
            events,
            outputs,
            spawn_env: env.clone(),
            loaded: HashMap::new(),
            build: None,
            runs: 0,
            rss: 0,
            exited: None,
            _group: group,
        })
    }

    /// Whether the process is known to have exited (an idle worker can die of a timer a run
    /// left behind).
    pub fn has_exited(&mut self) -> bool {
        while self.exited.is_none() {
            match self.events.try_recv() {
                Ok(Event::Exited(status)) => self.exited = Some(status),
                Ok(Event::Done { .. }) => {}
                Err(mpsc::error::TryRecvError::Empty) => return false,
                Err(mpsc::error::TryRecvError::Disconnected) => return true,
            }
        }
        true
    }

    /// Hands run `id` to the worker; its output goes to `sink` from now on.
    pub async fn start(
        &mut self,
        id: u64,
        module: &Path,
        args: &[String],
        env: &BTreeMap<OsString, OsString>,
        sink: LineSink,
    ) -> std::io::Result<()> {
        lock(&self.outputs).begin(id, sink);
        let request = Request {
            t: "run",
            id,
            module: &module.to_string_lossy(),
            args,
            env: EnvChange::between(&self.spawn_env, env),
        };
        let mut line = serde_json::to_vec(&request).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match &mut self.requests {
            Some(requests) => requests.write_all(&line).await,
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Waits for run `id` to end or for the worker to exit, whichever comes first.
    pub async fn until_end(&mut self, id: u64) -> Event {
        loop {
            if let Some(status) = self.exited {
                return Event::Exited(status);
            }
            match self.events.recv().await {
                Some(Event::Done {
                    id: done,
                    outcome,
                    rss,
                }) if done == id => {
                    return Event::Done { id, outcome, rss };
                }
                Some(Event::Done { .. }) => {}
                Some(Event::Exited(status)) => self.exited = Some(status),
                // The tasks are gone without a word: the runtime is shutting down.
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Waits for the worker to exit.
    pub async fn until_exit(&mut self) -> Option<ExitStatus> {
        while self.exited.is_none() {
            match self.events.recv().await {
                Some(Event::Exited(status)) => self.exited = Some(status),
                Some(Event::Done { .. }) => {}
                None => return None,
            }
        }
        self.exited
    }

    /// Sends `signal` to the worker's process group.
    pub fn signal(&self, signal: i32) {
        kill_group(self.pid, signal);
    }

    /// Forwards the rest of run `id`'s last lines and returns what the log should say.
    pub fn flush(&self, id: u64) -> Vec<OutputNote> {
        lock(&self.outputs).flush(id)
    }

    /// Ends the worker the gentle way: no more requests, so it exits by itself; SIGKILL if it
    /// has not within `patience`.
    pub async fn retire(mut self, patience: Duration) {
        self.requests = None;
        let _ = tokio::time::timeout(patience, self.until_exit()).await;
    }
}

type BoxedPipe = Box<dyn AsyncRead + Send + Unpin>;

fn boxed(pipe: impl AsyncRead + Send + Unpin + 'static) -> BoxedPipe {
    Box::new(pipe)
}

fn lock(outputs: &Mutex<Outputs>) -> std::sync::MutexGuard<'_, Outputs> {
    outputs
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
    outputs: Arc<Mutex<Outputs>>,
    events: mpsc::UnboundedSender<Event>,
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
                Message::Out { id, s, d } => lock(&self.outputs).output(id, s.into(), d.as_bytes()),
                Message::Done {
                    id,
                    ok,
                    kind,
                    message,
                    rss,
                } => {
                    let _ = self.events.send(Event::Done {
                        id,
                        outcome: protocol::outcome(ok, kind, message),
                        rss,
                    });
                }
            }
        }
    }
}

/// The line splitters of a worker's recent runs.
#[derive(Default)]
struct Outputs {
    runs: VecDeque<(u64, Lines, Lines)>,
}

impl Outputs {
    fn begin(&mut self, id: u64, sink: LineSink) {
        if self.runs.len() == REMEMBERED_RUNS {
            self.runs.pop_front();
        }
        self.runs.push_back((
            id,
            Lines::new(Stream::Stdout, sink.clone()),
            Lines::new(Stream::Stderr, sink),
        ));
    }

    fn output(&mut self, id: u64, stream: Stream, bytes: &[u8]) {
        if let Some((_, out, err)) = self.runs.iter_mut().find(|(run, ..)| *run == id) {
            match stream {
                Stream::Stdout => out.push(bytes),
                Stream::Stderr => err.push(bytes),
            }
        }
    }

    /// Bytes written to the worker's real stdout or stderr (a child process, a direct write):
    /// they belong to the latest run.
    fn stray(&mut self, stream: Stream, bytes: &[u8]) {
        if let Some(&(id, ..)) = self.runs.back() {
            self.output(id, stream, bytes);
        }
    }

    fn flush(&mut self, id: u64) -> Vec<OutputNote> {
        match self.runs.iter_mut().find(|(run, ..)| *run == id) {
            Some((_, out, err)) => out.flush().into_iter().chain(err.flush()).collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod report_line_tests {
    use super::*;

    fn lines() -> (ReportLines, mpsc::UnboundedReceiver<Event>) {
        let (events, received) = mpsc::unbounded_channel();
        let lines = ReportLines {
            outputs: Arc::new(Mutex::new(Outputs::default())),
            events,
            partial: Vec::new(),
        };
        (lines, received)
    }

    #[test]
    fn an_endless_line_on_the_report_pipe_is_dropped_and_later_messages_still_read() {
        let (mut lines, mut received) = lines();
        let junk = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            lines.push(&junk);
        }
        assert!(lines.partial.len() <= MAX_REPORT_LINE, "bounded");
        lines.push(b"\n{\"t\":\"done\",\"id\":3,\"ok\":true}\n");
        assert!(lines.partial.is_empty());
        match received.try_recv() {
            Ok(Event::Done { id, .. }) => assert_eq!(id, 3),
            _ => panic!("the message after the junk is read"),
        }
    }
}
