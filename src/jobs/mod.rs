//! Jobs as source code: validating and normalizing names, scaffolding a job's folder, and
//! adding a job to a workspace (`add`).

pub mod add;
pub mod changes;
pub mod folders;
pub mod lookup;
pub mod name;
pub mod naming;
pub mod remove;
pub mod rename;
pub mod scaffold;

use std::io;
use std::path::PathBuf;

pub use add::{AddedJob, NewJob, PolicyFlags, add_job, add_job_with};
pub use changes::Changes;
pub use name::{JobName, MAX_NAME_LEN};
pub use naming::{canonical_key, closest, to_snake_case};
pub use remove::{RemoveOptions, RemovedJob, remove_job};
pub use rename::{RenamedJob, rename_job};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid job name `{name}`: {rule}; {}", name::NAME_RULE)]
    InvalidName { name: String, rule: String },
    #[error("Job '{name}' already exists.")]
    Exists { name: String },
    #[error(
        "no job `{name}` in webstir.moduleManifest.jobs{}",
        suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
    )]
    NotFound {
        name: String,
        suggestion: Option<String>,
    },
    #[error(
        "`{name}` matches two entries, `{first}` and `{second}`; fix the duplicate in package.json first"
    )]
    Ambiguous {
        name: String,
        first: String,
        second: String,
    },
    #[error("job `{name}` already has that name")]
    SameName { name: String },
    #[error(
        "job folder `{}` already exists; pick another name or move the folder away",
        path.display()
    )]
    FolderExists { path: PathBuf },
    #[error("invalid schedule `{schedule}`: {message}")]
    InvalidSchedule { schedule: String, message: String },
    #[error("the description is empty; give a short text such as \"Nightly maintenance window\"")]
    EmptyDescription,
    #[error("the priority is empty; give an integer (`5`, `-3`) or a label (`high`)")]
    EmptyPriority,
    #[error(transparent)]
    InvalidTimezone(crate::schedule::ScheduleError),
    #[error("{0}")]
    InvalidPolicy(String),
    #[error("refusing to use `{}`: it is a symbolic link", path.display())]
    Symlink { path: PathBuf },
    #[error("`{}` is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl JobError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> JobError {
        JobError::Io {
            path: path.into(),
            source,
        }
    }
}
