//! One run of a job: a Node.js child in its own process group, its output forwarded line by
//! line, a time limit, and a stop request (SIGTERM, a grace period, then SIGKILL). Whatever the
//! job leaves running in its process group when it ends is killed with it.
//!
//! A run ends when the job's process exits. Everything that process wrote is in the pipes by
//! then and is forwarded in full, however slowly the scheduler's own output is read; only a
//! process the job started outside its group (`detached`) can still hold the pipes, and what
//! it writes is forwarded for [`LINGER`] more and then dropped with a note.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::outcome::{Failure, StopOutcome, classify, collect_report};
use super::output::{self, OutputNote};
use super::{reaper, sentinel};

/// File descriptor on which the runner script reports why a job failed.
const REPORT_FD: i32 = 3;

/// How long output of a process that outlived the job (a detached one sharing its pipes) is
/// still forwarded after the job's process exited; later output is dropped.
pub const LINGER: Duration = Duration::from_millis(200);

/// Everything needed to start one run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub node: OsString,
    pub runner: PathBuf,
    pub module: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<OsString, OsString>,
    pub cwd: PathBuf,
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when the run is asked to stop.
    pub grace: Duration,
}

/// Which output stream a forwarded line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What the scheduler asks of its running jobs; each level includes the ones before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopRequest {
    /// Let them run.
    #[default]
    None,
    /// SIGTERM now, SIGKILL after the grace period.
    Graceful,
    /// SIGKILL now (a second Ctrl-C).
    Immediate,
}

/// Receives each line the job prints (without its line ending).
pub type LineSink = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    pub duration: Duration,
    pub outcome: Result<(), Failure>,
    /// The exit code, when the process exited rather than being killed.
    pub exit_code: Option<i32>,
    /// What happened to the output on the way (long lines split, output dropped), for the
    /// log to say once.
    pub notes: Vec<OutputNote>,
}

enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Stopped(StopOutcome),
}

/// Runs the job to its end. [`StopRequest::Graceful`] on `stop` sends SIGTERM to its process
/// group, then SIGKILL after `spec.grace` or at [`StopRequest::Immediate`].
pub async fn run(
    spec: RunSpec,
    sink: LineSink,
    mut stop: watch::Receiver<StopRequest>,
) -> RunResult {
    let started = Instant::now();
    let spawned = spawn(&spec);
    let (mut child, report) = match spawned {
        Ok(pair) => pair,
        Err(e) => {
            return RunResult {
                duration: started.elapsed(),
                outcome: Err(Failure::Spawn {
                    node: spec.node.to_string_lossy().into_owned(),
                    message: e.to_string(),
                }),
                exit_code: None,
                notes: Vec::new(),
            };
        }
    };
    let pid = child.id().map_or(0, |id| id as i32);
    reaper::track(pid);
    sentinel::watch(pid);
    // Whatever way this run ends, a cancelled task or a panic included, its group goes too.
    let _group = GroupGuard(pid);
    // Tells the readers that the process has exited (a dropped sender says the same).
    let (ended_tx, ended) = watch::channel(false);
    let stdout = child.stdout.take().map(|s| {
        tokio::spawn(output::forward(
            s,
            Stream::Stdout,
            sink.clone(),
            ended.clone(),
        ))
    });
    let stderr = child.stderr.take().map(|s| {
        tokio::spawn(output::forward(
            s,
            Stream::Stderr,
            sink.clone(),
            ended.clone(),
        ))
    });
    let report = tokio::spawn(collect_report(report, ended.clone()));

    let graceful = stop_reached(&mut stop, StopRequest::Graceful);
    let time_limit = async {
        match spec.timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let ending = tokio::select! {
        status = child.wait() => status.map(Ending::Exited),
        () = time_limit => {
            kill_group(pid, libc::SIGKILL);
            child.wait().await.map(|_| Ending::TimedOut)
        }
        () = graceful => {
            kill_group(pid, libc::SIGTERM);
            let immediate = stop_reached(&mut stop, StopRequest::Immediate);
            let out_of_patience = async {
                tokio::select! {
                    () = tokio::time::sleep(spec.grace) => StopOutcome::KilledAfterGrace(spec.grace),
                    () = immediate => StopOutcome::KilledOnRequest,
                }
            };
            tokio::select! {
                status = child.wait() => status.map(|_| Ending::Stopped(StopOutcome::Ended)),
                how = out_of_patience => {
                    kill_group(pid, libc::SIGKILL);
                    child.wait().await.map(|_| Ending::Stopped(how))
                }
            }
        }
    };
    let duration = started.elapsed();
    reaper::untrack(pid);
    // The group id stays reserved while any member lives, so this reaches only leftovers.
    if kill_group(pid, libc::SIGKILL) {
        let _ =
            tokio::task::spawn_blocking(|| reaper::reap_orphans(Duration::from_millis(500))).await;
    }
    let _ = ended_tx.send(true);
    let mut notes = Vec::new();
    for task in [stdout, stderr].into_iter().flatten() {
        // Both readers drain at once; each stops LINGER after what was already in its pipe.
        if let Ok(forwarded) = task.await {
            notes.extend(forwarded);
        }
    }
    // One note for a pipe pair held open together, the usual case (`stdio: 'inherit'`).
    let abandoned = |n: &OutputNote| matches!(n, OutputNote::Abandoned(_));
    if notes.iter().filter(|n| abandoned(n)).count() == 2 {
        notes.retain(|n| !abandoned(n));
        notes.push(OutputNote::Abandoned(None));
    }

    let (outcome, exit_code) = match ending {
        Err(e) => (
            Err(Failure::Spawn {
                node: spec.node.to_string_lossy().into_owned(),
                message: e.to_string(),
            }),
            None,
        ),
        Ok(Ending::TimedOut) => (
            Err(Failure::TimedOut(spec.timeout.unwrap_or_default())),
            None,
        ),
        Ok(Ending::Stopped(how)) => (Err(Failure::Stopped(how)), None),
        Ok(Ending::Exited(status)) => classify(status, report.await.ok().flatten()),
    };
    RunResult {
        duration,
        outcome,
        exit_code,
        notes,
    }
}

/// Resolves once `stop` reaches `level`; never, if nobody can ask any more.
pub(super) async fn stop_reached(stop: &mut watch::Receiver<StopRequest>, level: StopRequest) {
    if stop.wait_for(|request| *request >= level).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn spawn(spec: &RunSpec) -> std::io::Result<(tokio::process::Child, std::io::PipeReader)> {
    let (reader, writer) = std::io::pipe()?;
    let mut command = tokio::process::Command::new(&spec.node);
    command
        .arg(&spec.runner)
        .arg(&spec.module)
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group: a Ctrl-C at the terminal reaches the scheduler, which decides, and
        // one killpg ends the job with everything it started.
        .process_group(0)
        .kill_on_drop(true);
    super::spawn::die_with_scheduler_and_place(&mut command, &[(writer.as_raw_fd(), REPORT_FD)]);
    let child = command.spawn()?;
    drop(writer);
    Ok((child, reader))
}

/// Kills a run's process group when dropped.
pub(super) struct GroupGuard(pub(super) i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0, libc::SIGKILL);
        sentinel::release(self.0);
    }
}

/// Sends `signal` to the process group `pgid`; true when the group still had members.
pub(super) fn kill_group(pgid: i32, signal: i32) -> bool {
    // A pid of 0 would signal our own group.
    if pgid <= 0 {
        return false;
    }
    // SAFETY: killpg has no memory-safety preconditions.
    unsafe { libc::killpg(pgid, signal) == 0 }
}
