//! Removing a job: its manifest entry always, its source and build folders only when asked.
//! Under the workspace lock; `package.json` is replaced atomically with only the entry (and
//! its separator) gone; folders to delete are first moved aside, so that a failed manifest
//! write puts them back.

use std::fs;

use super::JobError;
use super::changes::{Changes, package_json_diff};
use super::folders::{Moves, exists_safely, job_folders};
use super::lookup::find_entry;
use super::scaffold::relative;
use crate::Error;
use crate::manifest::entry_edit;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Delete `src/backend/jobs/<name>` and `build/backend/jobs/<name>` too.
    pub delete_source: bool,
    /// Work out the changes and make none.
    pub dry_run: bool,
}

/// What [`remove_job`] did (or would do).
#[derive(Debug, Clone)]
pub struct RemovedJob {
    /// The name as the manifest had it.
    pub name: String,
    pub changes: Changes,
}

/// Removes the entry `given` names (any form of the name, as `--job` matches it).
pub fn remove_job(
    workspace: &Workspace,
    given: &str,
    options: RemoveOptions,
) -> Result<RemovedJob, Error> {
    let _lock = workspace.lock()?;
    let text = workspace.read_package_json()?;
    let names = entry_edit::entry_names(&text)?;
    let (index, name) = find_entry(&names, given)?;
    let edited = entry_edit::remove_entry(&text, index)?;

    let mut changes = Changes {
        diff: package_json_diff(&text, &edited),
        ..Changes::default()
    };
    let mut present = Vec::new();
    for dir in job_folders(workspace, &name) {
        if exists_safely(workspace, &dir)? {
            present.push(dir);
        }
    }
    for dir in &present {
        let rel = relative(workspace, dir);
        if options.delete_source {
            changes.deleted.push(rel);
        } else {
            changes.kept.push(rel);
        }
    }
    if options.dry_run {
        return Ok(RemovedJob { name, changes });
    }

    let mut aside = Moves::default();
    if options.delete_source {
        for dir in &present {
            let trash =
                dir.with_file_name(format!(".webstir-removed-{name}-{}", std::process::id()));
            if let Err(e) = aside.rename(dir, &trash) {
                aside.undo();
                return Err(e.into());
            }
        }
    }
    if let Err(e) = workspace.write_package_json(&edited) {
        aside.undo();
        return Err(e.into());
    }
    for trash in aside.destinations() {
        fs::remove_dir_all(trash).map_err(|e| JobError::io(trash, e))?;
    }
    Ok(RemovedJob { name, changes })
}
