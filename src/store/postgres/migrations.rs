//! The PostgreSQL schema, as numbered migrations embedded in the binary. Every start applies
//! the missing ones in one transaction under an advisory lock, so that replicas starting
//! together migrate once and the others wait and find nothing left to do. A database already
//! migrated by a newer webstir is refused: this version would misread it.

use deadpool_postgres::Client;

use crate::store::StoreError;

/// Migration `i + 1` is `MIGRATIONS[i]`. Append only: a released migration never changes.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs, catch-up fires, claims of due fires, and live watchers.
    "CREATE TABLE webstir_runs (
         id          BIGSERIAL PRIMARY KEY,
         job         TEXT NOT NULL,
         tenant      TEXT,
         schedule    TEXT NOT NULL,
         due         TIMESTAMPTZ,
         started_at  TIMESTAMPTZ NOT NULL,
         finished_at TIMESTAMPTZ,
         outcome     TEXT NOT NULL,
         error       TEXT,
         attempt     INTEGER NOT NULL,
         duration_ms BIGINT,
         exit_status INTEGER,
         host        TEXT NOT NULL,
         pid         INTEGER NOT NULL
     );
     CREATE INDEX webstir_runs_by_job ON webstir_runs (job, id DESC);
     CREATE INDEX webstir_runs_running ON webstir_runs (host, pid) WHERE outcome = 'running';
     CREATE TABLE webstir_fires (
         job      TEXT PRIMARY KEY,
         last_due TIMESTAMPTZ NOT NULL
     );
     CREATE TABLE webstir_claims (
         job        TEXT NOT NULL,
         due        TIMESTAMPTZ NOT NULL,
         host       TEXT NOT NULL,
         pid        INTEGER NOT NULL,
         claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         UNIQUE (job, due)
     );
     CREATE INDEX webstir_claims_by_age ON webstir_claims (claimed_at);
     CREATE TABLE webstir_watchers (
         host       TEXT NOT NULL,
         pid        INTEGER NOT NULL,
         started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         heartbeat  TIMESTAMPTZ NOT NULL DEFAULT now(),
         PRIMARY KEY (host, pid)
     );",
];

/// The schema version this webstir writes.
pub fn supported() -> i64 {
    MIGRATIONS.len() as i64
}

/// A key of webstir's own for `pg_advisory_xact_lock` ("webstir" in ASCII, as a number), so
/// that it does not meet the locks of other programs sharing the database.
const LOCK_KEY: i64 = 0x0077_6562_7374_6972;

/// Applies the missing migrations; returns the versions applied (empty when up to date).
pub async fn migrate(client: &mut Client, location: &str) -> Result<Vec<i64>, StoreError> {
    let remote = |e: tokio_postgres::Error| StoreError::Remote {
        location: location.to_owned(),
        cause: super::describe(&e),
    };
    let tx = client.transaction().await.map_err(remote)?;
    // Taken before looking: a second replica waits here, then sees the version the first
    // one wrote. (CREATE TABLE IF NOT EXISTS alone races: two creators can both fail.)
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(remote)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS webstir_schema_version (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(remote)?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM webstir_schema_version",
            &[],
        )
        .await
        .map_err(remote)?
        .get(0);
    if found > supported() {
        return Err(StoreError::NewerRemoteSchema {
            location: location.to_owned(),
            found,
            supported: supported(),
        });
    }
    let mut applied = Vec::new();
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        tx.batch_execute(sql).await.map_err(remote)?;
        tx.execute(
            "INSERT INTO webstir_schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(remote)?;
        applied.push(version);
    }
    tx.commit().await.map_err(remote)?;
    Ok(applied)
}
