//! A job's folders on disk (its source and its build output), checked so that nothing is
//! moved or deleted through a symbolic link, and moved in steps that can be undone.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::JobError;
use super::name::check_unsafe;
use super::scaffold::relative;
use crate::workspace::Workspace;

/// `src/backend/jobs/<name>` and `build/backend/jobs/<name>`; none for a name that is not a
/// plain folder name (a hand-edited `"../x"`), so that no folder outside `jobs/` is ever
/// touched on its behalf.
pub fn job_folders(workspace: &Workspace, name: &str) -> Vec<PathBuf> {
    if check_unsafe(name).is_err() {
        return Vec::new();
    }
    vec![
        workspace.jobs_src_dir().join(name),
        workspace.jobs_build_dir().join(name),
    ]
}

/// Whether `path` (inside the workspace) exists. Refuses a symbolic link at `path` or at any
/// folder between the workspace root and it, so that no edit lands outside the workspace.
pub fn exists_safely(workspace: &Workspace, path: &Path) -> Result<bool, JobError> {
    let rel = path
        .strip_prefix(workspace.root())
        .map_err(|_| JobError::NotAFolder {
            path: path.to_path_buf(),
        })?;
    let mut current = workspace.root().to_path_buf();
    for component in rel.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(JobError::Symlink {
                    path: relative(workspace, &current),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(JobError::io(current, e)),
        }
    }
    Ok(true)
}

/// Renames done so far, undone in reverse order when a later step fails.
#[derive(Debug, Default)]
#[must_use = "moves are either kept or undone"]
pub struct Moves {
    done: Vec<(PathBuf, PathBuf)>,
}

impl Moves {
    /// Renames `from` to `to`, which must not exist in any form.
    pub fn rename(&mut self, from: &Path, to: &Path) -> Result<(), JobError> {
        match fs::symlink_metadata(to) {
            Ok(_) => {
                return Err(JobError::FolderExists {
                    path: to.to_path_buf(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(JobError::io(to, e)),
        }
        fs::rename(from, to).map_err(|e| JobError::io(from, e))?;
        self.done.push((from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }

    /// The destinations, in the order they were moved to.
    pub fn destinations(&self) -> impl Iterator<Item = &Path> {
        self.done.iter().map(|(_, to)| to.as_path())
    }

    /// Moves everything back. Best effort: it runs on a path that is already failing.
    pub fn undo(self) {
        for (from, to) in self.done.iter().rev() {
            let _ = fs::rename(to, from);
        }
    }
}
