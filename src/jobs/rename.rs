//! Renaming a job: the manifest entry's `name`, and the job's source and build folders. All or
//! nothing: the folders are moved first and moved back if anything after them fails, and
//! `package.json` is replaced atomically last.

use super::changes::{Changes, package_json_diff};
use super::folders::{Moves, exists_safely, job_folders};
use super::lookup::find_entry;
use super::scaffold::relative;
use super::{JobError, JobName, canonical_key};
use crate::Error;
use crate::manifest::entry_edit;
use crate::workspace::Workspace;

/// What [`rename_job`] did (or would do).
#[derive(Debug, Clone)]
pub struct RenamedJob {
    /// The old name as the manifest had it.
    pub from: String,
    pub to: String,
    /// What the user typed for the new name, when it differs from `to`.
    pub normalized_from: Option<String>,
    pub changes: Changes,
}

/// Renames the entry `given` names to `new` and moves its folders along.
pub fn rename_job(
    workspace: &Workspace,
    given: &str,
    new: &JobName,
    dry_run: bool,
) -> Result<RenamedJob, Error> {
    let _lock = workspace.lock()?;
    let text = workspace.read_package_json()?;
    let names = entry_edit::entry_names(&text)?;
    let (index, from) = find_entry(&names, given)?;
    let to = new.as_str().to_owned();
    if from == to {
        return Err(JobError::SameName { name: from }.into());
    }
    let key = canonical_key(&to);
    if let Some(existing) = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .filter_map(|(_, n)| n.as_deref())
        .find(|n| canonical_key(n) == key)
    {
        return Err(JobError::Exists {
            name: existing.to_owned(),
        }
        .into());
    }
    let edited = entry_edit::rename_entry(&text, index, &to)?;

    let mut pairs = Vec::new();
    for (old_dir, new_dir) in job_folders(workspace, &from)
        .into_iter()
        .zip(job_folders(workspace, &to))
    {
        if exists_safely(workspace, &new_dir)? {
            return Err(JobError::FolderExists {
                path: relative(workspace, &new_dir),
            }
            .into());
        }
        if exists_safely(workspace, &old_dir)? {
            pairs.push((old_dir, new_dir));
        }
    }
    let changes = Changes {
        diff: package_json_diff(&text, &edited),
        moved: pairs
            .iter()
            .map(|(a, b)| (relative(workspace, a), relative(workspace, b)))
            .collect(),
        ..Changes::default()
    };
    let renamed = RenamedJob {
        from,
        to,
        normalized_from: new.was_normalized().then(|| new.given().to_owned()),
        changes,
    };
    if dry_run {
        return Ok(renamed);
    }

    let mut moves = Moves::default();
    for (old_dir, new_dir) in &pairs {
        if let Err(e) = moves.rename(old_dir, new_dir) {
            moves.undo();
            return Err(relative_error(workspace, e).into());
        }
    }
    if let Err(e) = workspace.write_package_json(&edited) {
        moves.undo();
        return Err(e.into());
    }
    Ok(renamed)
}

/// Folder paths in messages are relative to the workspace, as elsewhere.
fn relative_error(workspace: &Workspace, e: JobError) -> JobError {
    match e {
        JobError::FolderExists { path } => JobError::FolderExists {
            path: relative(workspace, &path),
        },
        JobError::Io { path, source } => JobError::Io {
            path: relative(workspace, &path),
            source,
        },
        other => other,
    }
}
