//! One fire of a job: what fired it, the due time it fired for, and whether it makes up for a
//! fire the watcher missed. Every attempt and tenant run of the fire shares it, so a job can
//! use `WEBSTIR_FIRE_TIME` to make itself idempotent.

use chrono::{DateTime, SecondsFormat, Utc};

use super::once::MANUAL;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    /// The schedule expression that fired, or `manual`.
    pub schedule: String,
    /// The due time it fired for; a manual run's start time.
    pub due: DateTime<Utc>,
    /// A catch-up on start for a due time missed while the watcher was not running.
    pub catch_up: bool,
}

impl Fire {
    /// A run asked for with `--job` or `--all`, starting now.
    pub fn manual(now: DateTime<Utc>) -> Fire {
        Fire {
            schedule: MANUAL.to_owned(),
            due: now,
            catch_up: false,
        }
    }

    /// The due time as `WEBSTIR_FIRE_TIME` and the logs show it: RFC 3339 in UTC, with a
    /// fraction only when there is one (`2026-12-01T00:00:00Z`).
    pub fn due_text(&self) -> String {
        self.due.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

/// Attempt `number` of `of` of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub number: u32,
    pub of: u32,
}

impl Attempt {
    pub fn is_last(self) -> bool {
        self.number >= self.of
    }
}
