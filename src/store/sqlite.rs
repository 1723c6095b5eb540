//! [`FireLog`] in an embedded SQLite database, `.webstir/state.db`: created on first use,
//! in WAL mode (a reader never waits for the watcher's writes), with a schema version table
//! so that later versions can migrate it. Every write is one transaction, so a crash leaves
//! either the old or the new value.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{FireLog, STATE_DIR, StoreError};

/// File name of the database inside [`STATE_DIR`].
pub const DATABASE_FILE: &str = "state.db";

/// The schema this version writes; each later version adds one migration step.
const SCHEMA_VERSION: i64 = 1;

/// How long a write waits for another process holding the database (two watchers).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating when missing) the state database of the workspace at `root`. Refuses a
    /// `.webstir` folder or database that is a symbolic link leading out of the workspace.
    pub fn open(root: &Path) -> Result<SqliteStore, StoreError> {
        let dir = root.join(STATE_DIR);
        if !dir.exists() && !crate::fsutil::is_symlink(&dir) {
            std::fs::create_dir(&dir).map_err(|source| StoreError::CreateDir {
                path: dir.clone(),
                source,
            })?;
        }
        let path = dir.join(DATABASE_FILE);
        for candidate in [&dir, &path] {
            if crate::fsutil::is_symlink(candidate) && !inside(root, candidate) {
                return Err(StoreError::OutsideWorkspace {
                    path: candidate.clone(),
                });
            }
        }
        let conn = Connection::open(&path).map_err(|source| StoreError::Database {
            path: path.clone(),
            source,
        })?;
        let store = SqliteStore { path, conn };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db<T>(&self, result: rusqlite::Result<T>) -> Result<T, StoreError> {
        result.map_err(|source| StoreError::Database {
            path: self.path.clone(),
            source,
        })
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.db(self.conn.busy_timeout(BUSY_TIMEOUT))?;
        // `journal_mode` answers with a row, so it is queried rather than executed.
        self.db(self.conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }))?;
        self.db(self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
        ))?;
        let found: Option<i64> =
            self.db(self
                .conn
                .query_row("SELECT max(version) FROM schema_version", [], |row| {
                    row.get(0)
                }))?;
        match found {
            Some(found) if found > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            }),
            Some(_) => Ok(()),
            None => self.db(self.conn.execute_batch(
                "BEGIN IMMEDIATE;
                 CREATE TABLE IF NOT EXISTS job_fires (
                     job TEXT PRIMARY KEY NOT NULL,
                     last_due TEXT NOT NULL
                 );
                 INSERT INTO schema_version (version) VALUES (1);
                 COMMIT;",
            )),
        }
    }
}

impl FireLog for SqliteStore {
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self.db(self
            .conn
            .query_row(
                "SELECT last_due FROM job_fires WHERE job = ?1",
                params![job],
                |row| row.get(0),
            )
            .optional())?;
        // A value this version cannot read counts as no record: catch-up then starts over
        // from a fresh baseline rather than refusing to watch.
        Ok(text
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError> {
        // RFC 3339 in UTC with a fixed width compares correctly as text.
        let text = due.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.db(self.conn.execute(
            "INSERT INTO job_fires (job, last_due) VALUES (?1, ?2)
             ON CONFLICT (job) DO UPDATE SET last_due = excluded.last_due
             WHERE excluded.last_due > job_fires.last_due",
            params![job, text],
        ))?;
        Ok(())
    }
}

fn inside(root: &Path, path: &Path) -> bool {
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(target), Ok(root)) => target.starts_with(root),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn records_survive_reopening_and_only_move_forward() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        assert_eq!(store.last_fire("nightly").expect("read"), None);
        store
            .record_fire("nightly", at("2026-12-01T00:00:00Z"))
            .expect("write");
        store
            .record_fire("nightly", at("2026-11-30T00:00:00Z"))
            .expect("an older time is ignored");
        drop(store);
        let store = SqliteStore::open(dir.path()).expect("reopen");
        assert_eq!(
            store.last_fire("nightly").expect("read"),
            Some(at("2026-12-01T00:00:00Z"))
        );
        assert_eq!(store.last_fire("other").expect("read"), None);
    }

    #[test]
    fn a_state_folder_linked_out_of_the_workspace_is_refused() {
        let outside = tempfile::tempdir().expect("temp dir");
        let root = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(outside.path(), root.path().join(STATE_DIR)).expect("link");
        let error = SqliteStore::open(root.path()).expect_err("refused");
        assert!(
            matches!(error, StoreError::OutsideWorkspace { .. }),
            "{error}"
        );
        assert!(!outside.path().join(DATABASE_FILE).exists());
    }

    #[test]
    fn a_newer_schema_is_refused_rather_than_misread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        store
            .conn
            .execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .expect("bump");
        drop(store);
        let error = SqliteStore::open(dir.path()).expect_err("refused");
        assert!(
            matches!(error, StoreError::NewerSchema { found: 99, .. }),
            "{error}"
        );
    }
}
