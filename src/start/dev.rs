//! `webstir dev`: `build --watch`, the job watcher and the server, with the server restarted
//! whenever the build output it runs changes. A server that crashes is started again on the
//! next build instead of ending the session, since the fix is usually one save away; a
//! workspace without a server runs its jobs and starts the server once a build writes one.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use notify::{Event as FsEvent, EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::{
    Event, Options, Outcome, Role, SERVER_ENTRY, Signals, StartError, runtime, spawn, spawn_jobs,
    spawn_server, stop_all, wait_some, watcher_exited,
};
use crate::build::scheduler_files::SCHEDULER_SHIM;
use crate::workspace::Workspace;

/// Quiet time after the last change before the server restarts: a build writes many files.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How often to look for the first build's server entry.
const FIRST_BUILD_POLL: Duration = Duration::from_millis(100);

/// Runs the build watcher, the job watcher (unless `without_jobs`) and the server until a
/// signal, or until the build or job watcher ends.
pub fn dev(
    workspace: &Workspace,
    options: &Options,
    on_event: &mut dyn FnMut(Event),
) -> Result<Outcome, StartError> {
    runtime()?.block_on(async {
        let mut signals = Signals::install()?;
        let build_args: Vec<OsString> = vec![
            "--workspace".into(),
            workspace.root().into(),
            "build".into(),
            "--watch".into(),
        ];
        let exe: OsString = options.exe.clone().into();
        let mut build = spawn(Role::Build, &exe, &build_args, workspace, on_event)?;

        let entry = workspace.root().join(SERVER_ENTRY);
        // The first build is done enough once it has written the server or the scheduler shim
        // (a workspace may have jobs and no server).
        let shim = workspace.jobs_build_dir().join(SCHEDULER_SHIM);
        while !entry.is_file() && !shim.is_file() {
            tokio::select! {
                signal = signals.recv() => {
                    on_event(Event::Stopping { signal });
                    stop_all(&mut [Some(&mut build)], options.grace).await;
                    return Ok(Outcome::Stopped { signal });
                }
                status = build.wait() => {
                    let status = status.map_err(|source| StartError::Wait { role: Role::Build, source })?;
                    on_event(Event::Ended { role: Role::Build, status });
                    return Ok(Outcome::Ended { role: Role::Build, status });
                }
                () = tokio::time::sleep(FIRST_BUILD_POLL) => {}
            }
        }

        let out_dir = workspace.backend_build_dir();
        let (tx, mut changes) = mpsc::unbounded_channel();
        let jobs_dir = workspace.jobs_build_dir();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<FsEvent>| {
            if event.as_ref().is_ok_and(|e| affects_server(e, &jobs_dir)) {
                // The receiver lives as long as the loop below; an error means we are done.
                let _ = tx.send(());
            }
        })
        .map_err(|e| watch_error(&out_dir, e))?;
        watcher
            .watch(&out_dir, RecursiveMode::Recursive)
            .map_err(|e| watch_error(&out_dir, e))?;

        // Checked after the watcher is in place, so a server written meanwhile is not missed.
        let mut server = if entry.is_file() {
            Some(spawn_server(workspace, options, on_event)?)
        } else {
            on_event(Event::NoServer);
            None
        };
        let mut jobs = if options.without_jobs {
            None
        } else {
            Some(spawn_jobs(workspace, options, on_event)?)
        };
        loop {
            tokio::select! {
                signal = signals.recv() => {
                    on_event(Event::Stopping { signal });
                    stop_all(&mut [server.as_mut(), jobs.as_mut(), Some(&mut build)], options.grace).await;
                    return Ok(Outcome::Stopped { signal });
                }
                status = build.wait() => {
                    let status = status.map_err(|source| StartError::Wait { role: Role::Build, source })?;
                    on_event(Event::Ended { role: Role::Build, status });
                    stop_all(&mut [server.as_mut(), jobs.as_mut()], options.grace).await;
                    return Ok(Outcome::Ended { role: Role::Build, status });
                }
                status = wait_some(&mut jobs) => {
                    jobs = None;
                    if let Some(outcome) = watcher_exited(status, on_event)? {
                        stop_all(&mut [server.as_mut(), Some(&mut build)], options.grace).await;
                        return Ok(outcome);
                    }
                }
                status = wait_some(&mut server) => {
                    let status = status.map_err(|source| StartError::Wait { role: Role::Server, source })?;
                    server = None;
                    on_event(Event::ServerEnded { status });
                }
                Some(()) = changes.recv() => {
                    // Let the build finish writing before restarting.
                    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
                    if let Some(mut old) = server.take() {
                        on_event(Event::Restarting);
                        let _ = old.stop(options.grace).await;
                    }
                    if entry.is_file() {
                        server = Some(spawn_server(workspace, options, on_event)?);
                    }
                }
            }
        }
    })
}

/// A change to a module the server may load: not a job (the watcher loads those fresh on each
/// run), not a hidden file (the build's state and temp files), not a source map.
fn affects_server(event: &FsEvent, jobs_dir: &Path) -> bool {
    if !matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) {
        return false;
    }
    event.paths.iter().any(|path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        !path.starts_with(jobs_dir)
            && !name.starts_with('.')
            && [".js", ".mjs", ".cjs", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext))
    })
}

fn watch_error(path: &Path, e: notify::Error) -> StartError {
    StartError::Watch {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
