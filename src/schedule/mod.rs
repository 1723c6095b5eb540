//! The schedule engine: parse, explain and compute fire times of `@macros`, `rate(...)` and
//! cron expressions, in a time zone.
//!
//! PLACEHOLDER API: the schedule-engine work replaces the internals; the public signatures
//! below are what the rest of the crate relies on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "unknown time zone `{0}` (expected an IANA name such as `UTC`, `Europe/London` or `America/New_York`)"
    )]
    UnknownTimeZone(String),
}

/// What kind of schedule an expression is; rendered as `cron`, `macro`, `rate` or `reboot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    Cron,
    Macro,
    Rate,
    Reboot,
}

impl ScheduleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Cron => "cron",
            ScheduleKind::Macro => "macro",
            ScheduleKind::Rate => "rate",
            ScheduleKind::Reboot => "reboot",
        }
    }
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    source: String,
    kind: ScheduleKind,
    interval: Option<Duration>,
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let trimmed = expr.trim();
        let lower = trimmed.to_ascii_lowercase();
        let (kind, interval) = if lower == "@reboot" {
            (ScheduleKind::Reboot, None)
        } else if lower.starts_with('@') {
            (ScheduleKind::Macro, None)
        } else if lower.starts_with("rate(") {
            (ScheduleKind::Rate, Some(Duration::from_secs(60)))
        } else {
            (ScheduleKind::Cron, None)
        };
        Ok(Schedule {
            source: expr.to_owned(),
            kind,
            interval,
        })
    }

    /// The expression exactly as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn kind(&self) -> ScheduleKind {
        self.kind
    }

    /// The interval of a `rate(...)` schedule.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Plain-English meaning, e.g. "At 00:00 on day 13 of the month and on Friday".
    pub fn describe(&self) -> String {
        self.source.clone()
    }

    /// The first fire time strictly after `after`, evaluated in `tz`. `rate(...)` gives
    /// `after + interval`; `@reboot` gives `None`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
        let _ = (after, tz);
        None
    }
}

/// Parses an IANA time-zone name.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimeZone(name.to_owned()))
}

/// The zone a schedule is evaluated in: the job's own, else the command's `--timezone`, else
/// `TZ`, else the system zone, else UTC.
pub fn resolve_timezone(job: Option<&str>, flag: Option<&str>) -> Result<Tz, ScheduleError> {
    if let Some(name) = job.or(flag) {
        return parse_timezone(name);
    }
    if let Ok(name) = std::env::var("TZ") {
        let name = name.trim_start_matches(':');
        if !name.is_empty() {
            return parse_timezone(name);
        }
    }
    Ok(system_timezone().unwrap_or(Tz::UTC))
}

fn system_timezone() -> Option<Tz> {
    if let Ok(name) = std::fs::read_to_string("/etc/timezone")
        && let Ok(tz) = name.trim().parse::<Tz>()
    {
        return Some(tz);
    }
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let target = target.to_string_lossy();
    let name = target.split("zoneinfo/").nth(1)?;
    name.parse::<Tz>().ok()
}
