//! The embedded store: an SQLite database, `.webstir/state.db`, created on first use, in WAL
//! mode (a reader such as `--history` never waits for the watcher's writes), with a schema
//! version table and one migration step per version. Every write is one transaction, so a
//! crash leaves either the old or the new value. It keeps each job's last fire ([`FireLog`],
//! catch-up) and the run history ([`RunStore`], in [`runs`]).

mod runs;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::{DEFAULT_HISTORY_LIMIT, FireLog, STATE_DIR, StoreError};

/// File name of the database inside [`STATE_DIR`].
pub const DATABASE_FILE: &str = "state.db";

/// The schema this version writes; each later version adds one step to [`MIGRATIONS`].
const SCHEMA_VERSION: i64 = 2;

/// Step `n` (from 0) takes the schema from version `n` to `n + 1`.
const MIGRATIONS: [&str; 2] = [
    // 1: the last fire of each job, for catch-up.
    "CREATE TABLE IF NOT EXISTS job_fires (
         job TEXT PRIMARY KEY NOT NULL,
         last_due TEXT NOT NULL
     );",
    // 2: the run history. Times are RFC 3339 in UTC with a fixed width, so they sort as text;
    // the id orders runs by their start.
    "CREATE TABLE IF NOT EXISTS runs (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         job TEXT NOT NULL,
         tenant TEXT,
         schedule TEXT NOT NULL,
         due TEXT,
         started_at TEXT NOT NULL,
         finished_at TEXT,
         outcome TEXT NOT NULL,
         error TEXT,
         attempt INTEGER NOT NULL,
         duration_ms INTEGER,
         exit_status INTEGER,
         host TEXT NOT NULL,
         pid INTEGER NOT NULL
     );
     CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, id);
     CREATE INDEX IF NOT EXISTS runs_running ON runs (outcome) WHERE outcome = 'running';",
];

/// How long a write waits for another process holding the database (two watchers).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    /// One connection, used from tokio's blocking pool by the async [`RunStore`] calls and
    /// directly by the [`FireLog`] ones.
    ///
    /// [`RunStore`]: super::RunStore
    conn: Arc<Mutex<Connection>>,
    /// How many runs of each job are kept.
    history_limit: usize,
    /// The schema version found, for a store opened read-only (which never migrates).
    version: i64,
    /// The database file's device and inode when opened: a file deleted or replaced under a
    /// running watcher (`rm -rf .webstir`) would otherwise take its writes in silence.
    identity: Option<(u64, u64)>,
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
        let path = checked_path(root)?;
        let conn = Connection::open(&path).map_err(|source| database_error(&path, source))?;
        let mut store = SqliteStore::new(path, conn);
        store.migrate()?;
        Ok(store)
    }

    /// Opens the workspace's state database for reading only, creating nothing: `None` when
    /// there is none yet (no watcher ever ran). For `--history` and `backend-inspect`.
    pub fn open_existing(root: &Path) -> Result<Option<SqliteStore>, StoreError> {
        let dir = root.join(STATE_DIR);
        if !dir.exists() && !crate::fsutil::is_symlink(&dir) {
            return Ok(None);
        }
        let path = checked_path(root)?;
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|source| database_error(&path, source))?;
        let mut store = SqliteStore::new(path, conn);
        store.version = store.with(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            read_version(conn)
        })?;
        store.refuse_newer()?;
        Ok(Some(store))
    }

    fn new(path: PathBuf, conn: Connection) -> SqliteStore {
        SqliteStore {
            identity: file_identity(&path),
            path,
            conn: Arc::new(Mutex::new(conn)),
            history_limit: DEFAULT_HISTORY_LIMIT,
            version: SCHEMA_VERSION,
        }
    }

    /// Whether the file at the path is still the one opened.
    pub(crate) fn still_there(&self) -> bool {
        self.identity.is_none() || file_identity(&self.path) == self.identity
    }

    /// Keeps the newest `limit` runs of each job (at least one).
    pub fn with_history_limit(mut self, limit: usize) -> SqliteStore {
        self.history_limit = limit.max(1);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves a connection that is still usable: every
        // write is its own transaction.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the connection, here and now (the [`FireLog`] calls and opening).
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&self.lock()).map_err(|source| database_error(&self.path, source))
    }

    fn refuse_newer(&self) -> Result<(), StoreError> {
        if self.version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: self.version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version = self.with(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // `journal_mode` answers with a row, so it is queried rather than executed.
            conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
                row.get::<_, String>(0)
            })?;
            // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last
            // records, and each run's records are not worth an fsync of their own.
            conn.execute_batch("PRAGMA synchronous = NORMAL")?;
            // The watcher appends runs and reads little back: 512 KiB of page cache (SQLite's
            // default is 2 MiB) holds the pages it writes, and keeps a watcher with a long
            // history as small as a new one.
            conn.execute_batch("PRAGMA cache_size = -512")?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
            )?;
            read_version(conn)
        })?;
        self.version = version;
        self.refuse_newer()?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        self.version = self.with(|conn| {
            // IMMEDIATE: two watchers starting together migrate one after the other, and the
            // second finds the work done.
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let steps = (|| {
                let found = read_version(conn)?;
                for (step, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
                    conn.execute_batch(sql)?;
                    conn.execute(
                        "INSERT INTO schema_version (version) VALUES (?1)",
                        params![step as i64 + 1],
                    )?;
                }
                Ok(found.max(SCHEMA_VERSION))
            })();
            match steps {
                Ok(version) => {
                    conn.execute_batch("COMMIT")?;
                    Ok(version)
                }
                Err(error) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    Err(error)
                }
            }
        })?;
        self.refuse_newer()
    }
}

/// `.webstir/state.db` under `root`, refused when `.webstir` is not a folder, the database is
/// not a regular file, or either is a
/// symbolic link leading out of the workspace.
fn checked_path(root: &Path) -> Result<PathBuf, StoreError> {
    let dir = root.join(STATE_DIR);
    let path = dir.join(DATABASE_FILE);
    for candidate in [&dir, &path] {
        if crate::fsutil::is_symlink(candidate) && !inside(root, candidate) {
            return Err(StoreError::OutsideWorkspace {
                path: candidate.clone(),
            });
        }
    }
    if dir.exists() && !dir.is_dir() {
        return Err(StoreError::NotAFolder { path: dir });
    }
    // A folder or a FIFO there would make SQLite fail obscurely or block opening it forever.
    if path.exists() && !path.is_file() {
        return Err(StoreError::NotAFile { path });
    }
    Ok(path)
}

fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The schema version recorded in the database; 0 for a database without the table.
fn read_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    let found: Option<i64> =
        conn.query_row("SELECT max(version) FROM schema_version", [], |row| {
            row.get(0)
        })?;
    Ok(found.unwrap_or(0))
}

/// A database error, told apart when the file is not a database at all.
fn database_error(path: &Path, source: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path, source }
        }
        _ => StoreError::Database { path, source },
    }
}

impl FireLog for SqliteStore {
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.with(|conn| last_fire(conn, job))
    }

    fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|conn| record_fire(conn, job, due))
    }
}

fn last_fire(conn: &Connection, job: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = conn
        .query_row(
            "SELECT last_due FROM job_fires WHERE job = ?1",
            params![job],
            |row| row.get(0),
        )
        .optional()?;
    // A value this version cannot read counts as no record: catch-up then starts over from a
    // fresh baseline rather than refusing to watch.
    Ok(text.and_then(|t| runs::parse_time(&t)))
}

fn record_fire(conn: &Connection, job: &str, due: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO job_fires (job, last_due) VALUES (?1, ?2)
         ON CONFLICT (job) DO UPDATE SET last_due = excluded.last_due
         WHERE excluded.last_due > job_fires.last_due",
        params![job, runs::time_text(due)],
    )?;
    Ok(())
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
    fn the_watchers_connection_is_in_wal_mode_with_a_small_page_cache() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let conn = store.lock();
        let read = |pragma: &str| -> String {
            conn.query_row(&format!("PRAGMA {pragma}"), [], |row| {
                row.get::<_, rusqlite::types::Value>(0)
            })
            .map(|v| format!("{v:?}"))
            .expect("pragma")
        };
        assert_eq!(read("journal_mode"), r#"Text("wal")"#);
        assert_eq!(read("synchronous"), "Integer(1)", "NORMAL");
        assert_eq!(read("cache_size"), "Integer(-512)", "512 KiB");
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
            .lock()
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
