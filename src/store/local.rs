//! The SQLite store seen through [`RunStore`] until it implements the trait itself (the run
//! history work does that): catch-up fires are kept, run records are not yet, and claims
//! always succeed since one workspace has one watcher. Remove this adapter once
//! `SqliteStore: RunStore`, and open `SqliteStore` directly in [`super::open`].

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{
    FireLog, HistoryQuery, Owner, RunEnd, RunId, RunStart, RunStore, SqliteStore, StoreError,
    StoredRun,
};

#[derive(Debug)]
pub struct LocalStore {
    inner: Mutex<SqliteStore>,
}

impl LocalStore {
    pub fn new(store: SqliteStore) -> LocalStore {
        LocalStore {
            inner: Mutex::new(store),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&SqliteStore) -> T) -> T {
        // A panic while holding the lock leaves a usable connection: SQLite rolled back.
        let guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&guard)
    }
}

#[async_trait::async_trait]
impl RunStore for LocalStore {
    fn location(&self) -> String {
        self.with(|s| s.path().display().to_string())
    }

    fn shared(&self) -> bool {
        false
    }

    async fn run_started(&self, _run: &RunStart) -> Result<RunId, StoreError> {
        Ok(0)
    }

    async fn run_finished(&self, _id: RunId, _end: &RunEnd) -> Result<(), StoreError> {
        Ok(())
    }

    async fn run_skipped(&self, _run: &RunStart, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }

    async fn history(&self, _query: &HistoryQuery) -> Result<Vec<StoredRun>, StoreError> {
        Ok(Vec::new())
    }

    async fn last_runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        Ok(Vec::new())
    }

    async fn claim(
        &self,
        _job: &str,
        _due: DateTime<Utc>,
        _owner: &Owner,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn heartbeat(
        &self,
        _owner: &Owner,
        _lease: std::time::Duration,
    ) -> Result<usize, StoreError> {
        Ok(0)
    }

    async fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.with(|s| s.last_fire(job))
    }

    async fn record_fire(&self, job: &str, due: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|s| s.record_fire(job, due))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
