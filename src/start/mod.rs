//! `webstir start` and `webstir dev`: the built backend server and the job watcher, supervised
//! together. Each runs in its own process group; SIGINT/SIGTERM stop both (SIGTERM, then
//! SIGKILL after the grace period); when one ends by itself, the other is stopped and the
//! outcome says which. `dev` adds `build --watch` and restarts the server when the build
//! output changes.
//!
//! The watcher is `webstir scheduler --watch` run as a child of this same binary rather than
//! in-process: it installs its own signal handling, subreaper and sentinel for its runs, which
//! would otherwise have to share one process with the server's supervision.

pub mod child;
mod dev;

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

pub use child::Role;
use child::Supervised;
pub use dev::dev;

use crate::workspace::Workspace;

/// The server's entry point, as `webstir build` writes it.
pub const SERVER_ENTRY: &str = "build/backend/index.js";

/// How long the watcher gets beyond the grace period: it spends up to the grace period
/// stopping its own runs before it exits.
const WATCHER_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "`{}` does not exist; build the backend first (`webstir build`) or use `webstir dev`, which builds and watches",
        path.display()
    )]
    NotBuilt { path: PathBuf },
    #[error("could not start the {} (`{program}`): {source}", role.label())]
    Spawn {
        role: Role,
        program: String,
        source: io::Error,
    },
    #[error("could not supervise the {}: {source}", role.label())]
    Wait { role: Role, source: io::Error },
    #[error("could not start supervising: {0}")]
    Runtime(io::Error),
    #[error("could not watch `{}`: {message}", path.display())]
    Watch { path: PathBuf, message: String },
}

/// Settings of a `start`/`dev` run, merged from flags, environment and webstir.toml.
#[derive(Debug, Clone)]
pub struct Options {
    /// Node.js for the server.
    pub node: OsString,
    /// Passed to the watcher as `--node` when given explicitly.
    pub node_flag: Option<String>,
    pub grace: Duration,
    pub without_jobs: bool,
    /// This webstir binary, which runs the watcher (and the build in `dev`).
    pub exe: PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// SIGINT or SIGTERM arrived and everything was stopped.
    Stopped { signal: &'static str },
    /// `role` ended by itself with `status`; the others were stopped.
    Ended { role: Role, status: ExitStatus },
}

/// What happens along the way, for the command line to show.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    Started {
        role: Role,
        pid: Option<u32>,
    },
    /// The watcher finished by itself without an error (nothing scheduled to watch).
    WatcherDone,
    /// `dev`: the server ended by itself; it starts again on the next build.
    ServerEnded {
        status: ExitStatus,
    },
    /// `dev`: the first build wrote no server entry; the server starts once one is built.
    NoServer,
    /// `dev`: the build output changed and the server restarts.
    Restarting,
    Stopping {
        signal: &'static str,
    },
    /// `role` ended by itself; the others are being stopped.
    Ended {
        role: Role,
        status: ExitStatus,
    },
}

/// Runs the built server and, unless `without_jobs`, the job watcher until a signal or until
/// one of them ends.
pub fn start(
    workspace: &Workspace,
    options: &Options,
    on_event: &mut dyn FnMut(Event),
) -> Result<Outcome, StartError> {
    let entry = workspace.root().join(SERVER_ENTRY);
    if !entry.is_file() {
        return Err(StartError::NotBuilt {
            path: PathBuf::from(SERVER_ENTRY),
        });
    }
    runtime()?.block_on(async {
        let mut signals = Signals::install()?;
        // The server first: if it cannot start, there is no point in watching jobs.
        let mut server = spawn_server(workspace, options, on_event)?;
        let mut jobs = if options.without_jobs {
            None
        } else {
            Some(spawn_jobs(workspace, options, on_event)?)
        };
        loop {
            tokio::select! {
                signal = signals.recv() => {
                    on_event(Event::Stopping { signal });
                    stop_all(&mut [Some(&mut server), jobs.as_mut()], options.grace).await;
                    return Ok(Outcome::Stopped { signal });
                }
                status = server.wait() => {
                    let status = status.map_err(|source| StartError::Wait { role: Role::Server, source })?;
                    on_event(Event::Ended { role: Role::Server, status });
                    stop_all(&mut [jobs.as_mut()], options.grace).await;
                    return Ok(Outcome::Ended { role: Role::Server, status });
                }
                status = wait_some(&mut jobs) => {
                    jobs = None;
                    if let Some(outcome) = watcher_exited(status, on_event)? {
                        stop_all(&mut [Some(&mut server)], options.grace).await;
                        return Ok(outcome);
                    }
                }
            }
        }
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, StartError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)
}

fn spawn_server(
    workspace: &Workspace,
    options: &Options,
    on_event: &mut dyn FnMut(Event),
) -> Result<Supervised, StartError> {
    let args = [OsString::from(SERVER_ENTRY)];
    spawn(Role::Server, &options.node, &args, workspace, on_event)
}

fn spawn_jobs(
    workspace: &Workspace,
    options: &Options,
    on_event: &mut dyn FnMut(Event),
) -> Result<Supervised, StartError> {
    let mut args: Vec<OsString> = vec![
        "--workspace".into(),
        workspace.root().into(),
        "scheduler".into(),
        "--watch".into(),
        "--grace".into(),
        format!("{}ms", options.grace.as_millis().max(1)).into(),
    ];
    if let Some(node) = &options.node_flag {
        args.extend(["--node".into(), node.into()]);
    }
    spawn(
        Role::Jobs,
        &options.exe.clone().into(),
        &args,
        workspace,
        on_event,
    )
}

fn spawn(
    role: Role,
    program: &OsString,
    args: &[OsString],
    workspace: &Workspace,
    on_event: &mut dyn FnMut(Event),
) -> Result<Supervised, StartError> {
    let child = Supervised::spawn(role, program, args, workspace.root()).map_err(|source| {
        StartError::Spawn {
            role,
            program: program.to_string_lossy().into_owned(),
            source,
        }
    })?;
    on_event(Event::Started {
        role,
        pid: child.pid(),
    });
    Ok(child)
}

/// Waits for the child if there is one; never resolves otherwise.
/// What the supervisor makes of the job watcher's exit: a watcher that exits 0 has done its
/// work (every schedule was `@reboot`) while the server goes on; any other exit ends the
/// command, and the caller stops the rest.
fn watcher_exited(
    status: io::Result<ExitStatus>,
    on_event: &mut dyn FnMut(Event),
) -> Result<Option<Outcome>, StartError> {
    let status = status.map_err(|source| StartError::Wait {
        role: Role::Jobs,
        source,
    })?;
    if status.success() {
        on_event(Event::WatcherDone);
        return Ok(None);
    }
    on_event(Event::Ended {
        role: Role::Jobs,
        status,
    });
    Ok(Some(Outcome::Ended {
        role: Role::Jobs,
        status,
    }))
}

async fn wait_some(child: &mut Option<Supervised>) -> io::Result<ExitStatus> {
    match child {
        Some(child) => child.wait().await,
        None => std::future::pending().await,
    }
}

/// Stops every child at once: all get SIGTERM first, so their grace periods overlap.
async fn stop_all(children: &mut [Option<&mut Supervised>], grace: Duration) {
    let start = tokio::time::Instant::now();
    for child in children.iter_mut().flatten() {
        child.terminate();
    }
    for child in children.iter_mut().flatten() {
        let grace = match child.role {
            Role::Jobs => grace + WATCHER_MARGIN,
            _ => grace,
        };
        // An error here means the child is already gone, which is what stopping wants.
        let _ = child.finish_by(start + grace).await;
    }
}

/// SIGINT and SIGTERM, taken over so that the children are stopped first.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, StartError> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(StartError::Runtime)?,
            terminate: signal(SignalKind::terminate()).map_err(StartError::Runtime)?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
