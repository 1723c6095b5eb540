//! What the scheduler remembers between runs of the watcher. Today that is each job's last
//! fire, which catch-up needs; run history will join it. The scheduler sees only the
//! [`FireLog`] trait, so another database can stand behind it.

pub mod sqlite;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use sqlite::SqliteStore;

/// The folder under the workspace root that holds webstir's state.
pub const STATE_DIR: &str = ".webstir";

/// The last due time each job fired for.
pub trait FireLog {
    /// The due time of the job's latest recorded fire; `None` when it never fired.
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records that `job` fired for the due time `due`. A due time earlier than the one
    /// already recorded is ignored: the log only moves forward.
    fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "refusing to use `{}`: it is a symbolic link that leads outside the workspace",
        path.display()
    )]
    OutsideWorkspace { path: PathBuf },
    #[error("could not create `{}`: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state database `{}`: {source}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "state database `{}` has schema version {found}, newer than this webstir understands ({supported}); upgrade webstir",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
}
