//! How a run ended, in words for users: what the runner script reported on its report
//! descriptor, the exit status, or the scheduler's own decision (time limit, stop).

use std::fmt;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::watch;

/// Why a run did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Node could not be started.
    Spawn {
        node: String,
        message: String,
    },
    /// The job's `run` threw or rejected; the error's message.
    Threw(String),
    /// The module exports neither `run` nor a default function.
    NoRunExport(String),
    /// The module could not be imported (syntax error, missing dependency, ...).
    Import(String),
    /// The process exited non-zero without saying why (for example `process.exit(3)`).
    Exit(i32),
    /// The process was killed by a signal nobody in webstir sent.
    Signal(i32),
    TimedOut(Duration),
    /// The scheduler stopped the run while shutting down.
    Stopped(StopOutcome),
    /// The warm worker running it was killed to stop another of its runs; why.
    WorkerStopped(String),
}

/// How a run the scheduler asked to stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// It ended within the grace period after SIGTERM.
    Ended,
    /// It was still running when the grace period was over.
    KilledAfterGrace(Duration),
    /// A second stop request killed it before the grace period was over.
    KilledOnRequest,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Spawn { node, message } => write!(
                f,
                "could not start `{node}`: {message} (set --node, WEBSTIR_NODE or `node` in webstir.toml)"
            ),
            Failure::Threw(message) => f.write_str(message),
            Failure::NoRunExport(message) | Failure::Import(message) => f.write_str(message),
            Failure::Exit(code) => write!(f, "exited with status {code}"),
            Failure::Signal(signal) => write!(f, "killed by {}", signal_name(*signal)),
            Failure::TimedOut(limit) => {
                write!(f, "timed out after {}", humantime::format_duration(*limit))
            }
            Failure::Stopped(StopOutcome::Ended) => f.write_str("stopped by the scheduler"),
            Failure::Stopped(StopOutcome::KilledAfterGrace(grace)) => write!(
                f,
                "killed after the {} grace period",
                humantime::format_duration(*grace)
            ),
            Failure::WorkerStopped(why) => write!(f, "its worker was stopped because {why}"),
            Failure::Stopped(StopOutcome::KilledOnRequest) => {
                f.write_str("killed by the scheduler before the grace period was over")
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct Report {
    kind: String,
    message: String,
}

/// Most bytes of the report descriptor kept; the runner's report is far smaller.
const REPORT_LIMIT: usize = 64 * 1024;

/// Reads what the runner script reports on its descriptor, for as long as the job runs, and
/// returns the last report. Read while the job runs, not after: a report larger than the pipe
/// (a huge error message) would otherwise block the runner in its write, and the run would
/// never end. Once `ended` turns true (or its sender is gone) it reads what is in the pipe and
/// stops, without waiting for descendants that inherited the descriptor.
pub(super) async fn collect_report(
    pipe: std::io::PipeReader,
    mut ended: watch::Receiver<bool>,
) -> Option<Report> {
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(pipe)).ok()?;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let keep = |bytes: &mut Vec<u8>, piece: &[u8]| {
        let room = REPORT_LIMIT.saturating_sub(bytes.len());
        bytes.extend_from_slice(&piece[..piece.len().min(room)]);
    };
    let mut open = true;
    while open && !*ended.borrow() {
        tokio::select! {
            read = pipe.read(&mut chunk) => match read {
                Ok(0) | Err(_) => open = false,
                Ok(n) => keep(&mut bytes, &chunk[..n]),
            },
            changed = ended.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    // The runner wrote before it exited: whatever it wrote is in the pipe now.
    while open {
        match pipe.try_read(&mut chunk) {
            Ok(0) => open = false,
            Ok(n) => keep(&mut bytes, &chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => open = false,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Report>(line).ok())
}

pub(super) fn classify(
    status: ExitStatus,
    report: Option<Report>,
) -> (Result<(), Failure>, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    let code = status.code();
    if status.success() {
        return (Ok(()), code);
    }
    let failure = match (report, code) {
        (Some(report), Some(_)) => match report.kind.as_str() {
            "threw" => Failure::Threw(report.message),
            "no-run" => Failure::NoRunExport(report.message),
            _ => Failure::Import(report.message),
        },
        (None, Some(code)) => Failure::Exit(code),
        (_, None) => Failure::Signal(status.signal().unwrap_or(0)),
    };
    (Err(failure), code)
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}
