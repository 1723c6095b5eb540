//! `webstir build --watch`: build, then rebuild whenever something under `src/backend` changes.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use notify::{Event, EventKind, RecursiveMode, Watcher};

use super::tsconfig::FILE_NAME as TSCONFIG;
use super::{BuildError, BuildReport, build};
use crate::workspace::Workspace;

/// Quiet time after the last change before rebuilding: an editor's save or a `git checkout`
/// arrives as a burst of events, and one rebuild should cover the whole burst.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Builds once, then after every burst of changes, handing each result to `on_build`. Errors
/// of a build go to `on_build` too, and watching goes on. Returns only if the watcher fails.
pub fn watch(
    workspace: &Workspace,
    mut on_build: impl FnMut(Result<BuildReport, BuildError>),
) -> Result<(), BuildError> {
    let src = workspace.backend_src_dir();
    if !src.is_dir() {
        return Err(BuildError::NoSources { path: src });
    }
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        // The receiver outlives the watcher; a send error means we are shutting down.
        let _ = tx.send(event);
    })
    .map_err(|e| watch_error(&src, e))?;
    // Watch before the first build so that a change made during it is not missed.
    watcher
        .watch(&src, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&src, e))?;
    // tsconfig.json changes the output too. Its folder is watched rather than the file, which
    // editors replace by a rename (and which may not exist yet).
    let root = workspace.root();
    watcher
        .watch(root, RecursiveMode::NonRecursive)
        .map_err(|e| watch_error(root, e))?;
    let tsconfig = root.join(TSCONFIG);
    on_build(build(workspace));
    loop {
        let event = rx.recv().map_err(|_| BuildError::Watch {
            path: src.clone(),
            message: "the file watcher stopped".into(),
        })?;
        if !event
            .as_ref()
            .is_ok_and(|e| is_relevant(e, &src, &tsconfig))
        {
            continue;
        }
        loop {
            match rx.recv_timeout(DEBOUNCE) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(BuildError::Watch {
                        path: src,
                        message: "the file watcher stopped".into(),
                    });
                }
            }
        }
        on_build(build(workspace));
    }
}

/// Changes under `src` and to `tsconfig` count; reads, editors' swap files (`.x.swp`, `x~`)
/// and the other files of the workspace root do not change the build.
fn is_relevant(event: &Event, src: &Path, tsconfig: &Path) -> bool {
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.is_empty()
        || event.paths.iter().any(|p| {
            (p == tsconfig || p.starts_with(src))
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_none_or(|n| !n.starts_with('.') && !n.ends_with('~'))
        })
}

fn watch_error(path: &Path, error: notify::Error) -> BuildError {
    BuildError::Watch {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, ModifyKind};
    use std::path::PathBuf;

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    fn is_relevant(event: &Event) -> bool {
        super::is_relevant(
            event,
            Path::new("/w/src/backend"),
            Path::new("/w/tsconfig.json"),
        )
    }

    #[test]
    fn source_and_tsconfig_changes_count_and_reads_or_swap_files_do_not() {
        let modify = EventKind::Modify(ModifyKind::Any);
        assert!(is_relevant(&event(modify, "/w/tsconfig.json")));
        assert!(!is_relevant(&event(modify, "/w/package.json")));
        assert!(!is_relevant(&event(
            EventKind::Create(CreateKind::Folder),
            "/w/build"
        )));
        assert!(is_relevant(&event(modify, "/w/src/backend/a.ts")));
        assert!(is_relevant(&event(
            EventKind::Create(CreateKind::Folder),
            "/w/src/backend/jobs"
        )));
        assert!(!is_relevant(&event(
            EventKind::Access(AccessKind::Any),
            "/w/src/backend/a.ts"
        )));
        assert!(!is_relevant(&event(modify, "/w/src/backend/.a.ts.swp")));
        assert!(!is_relevant(&event(modify, "/w/src/backend/a.ts~")));
    }
}
