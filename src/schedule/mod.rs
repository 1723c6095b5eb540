//! The schedule engine: parse, explain and compute fire times of `@macros`, `rate(...)` and
//! cron expressions, in a time zone. The meaning of every form, including the day-field and
//! daylight-saving rules, is documented in `docs/schedules.md`.

mod cron;
mod describe;
mod error;
mod field;
mod next;
mod posix_tz;
mod rate;
mod timezone;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;

pub use cron::{Cron, DayRule, DstRule};
pub use error::{FieldError, RateError, ScheduleError};
pub use field::{Field, FieldSpec, Item};
pub use timezone::{Zones, environment_timezone, parse_timezone, resolve_timezone};

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

/// The macros and the cron expressions they stand for, as in Vixie cron.
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

// Shared, so that a schedule read once for many jobs (a manifest of thousands of jobs repeats
// a handful of expressions) is copied for each without copying its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Timing {
    Cron(Arc<Cron>),
    Rate(Duration),
    Reboot,
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    source: Arc<str>,
    kind: ScheduleKind,
    timing: Timing,
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let text = expr.trim();
        let lower = text.to_ascii_lowercase();
        let (kind, timing) = if text.is_empty() {
            return Err(ScheduleError::Empty);
        } else if lower == "@reboot" {
            (ScheduleKind::Reboot, Timing::Reboot)
        } else if lower.starts_with('@') {
            let (_, cron) = MACROS
                .iter()
                .find(|(name, _)| *name == lower)
                .ok_or_else(|| ScheduleError::UnknownMacro(text.to_owned()))?;
            (
                ScheduleKind::Macro,
                Timing::Cron(Arc::new(Cron::parse(cron)?)),
            )
        } else if lower.starts_with("rate(") {
            (ScheduleKind::Rate, Timing::Rate(rate::parse(text)?))
        } else {
            (
                ScheduleKind::Cron,
                Timing::Cron(Arc::new(Cron::parse(text)?)),
            )
        };
        Ok(Schedule {
            source: expr.into(),
            kind,
            timing,
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
        match self.timing {
            Timing::Rate(interval) => Some(interval),
            _ => None,
        }
    }

    /// The cron expression of a cron or macro schedule.
    pub fn cron(&self) -> Option<&Cron> {
        match &self.timing {
            Timing::Cron(cron) => Some(cron),
            _ => None,
        }
    }

    /// Plain-English meaning, e.g. "At 00:00 on day 13 of the month and on Friday".
    pub fn describe(&self) -> String {
        match &self.timing {
            Timing::Cron(cron) => describe::describe(cron),
            Timing::Rate(interval) => format!(
                "Every {}, starting when the scheduler starts",
                rate::describe_interval(*interval)
            ),
            Timing::Reboot => "Once, when the scheduler starts".to_owned(),
        }
    }

    /// The first fire time strictly after `after`, evaluated in `tz`. `rate(...)` gives
    /// `after + interval`; `@reboot` gives `None`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
        self.next_unbounded(after, tz)
            .filter(|at| at.year() <= LAST_YEAR)
    }

    fn next_unbounded(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
        match &self.timing {
            Timing::Cron(cron) => next::next_after(cron, after, tz),
            Timing::Rate(interval) => {
                let step = chrono::Duration::from_std(*interval).ok()?;
                let next = after.checked_add_signed(step)?;
                Some(tz.from_utc_datetime(&next.naive_utc()))
            }
            Timing::Reboot => None,
        }
    }

    /// The fire times after `after`, in order; empty for `@reboot`.
    pub fn upcoming(&self, after: DateTime<Utc>, tz: Tz) -> Upcoming<'_> {
        Upcoming {
            schedule: self,
            tz,
            cursor: Some(after),
        }
    }
}

/// The earliest wall-clock fire time of a job's schedules after `after`: cron expressions and
/// macros only, since a `rate(...)` counts from whenever the scheduler starts and `@reboot`
/// fires only then, so neither has a time that can be shown ahead of a run.
pub fn next_wall_clock_fire<'a>(
    schedules: impl IntoIterator<Item = &'a Schedule>,
    after: DateTime<Utc>,
    tz: Tz,
) -> Option<DateTime<Tz>> {
    schedules
        .into_iter()
        .filter(|s| matches!(s.kind(), ScheduleKind::Cron | ScheduleKind::Macro))
        .filter_map(|s| s.next_after(after, tz))
        .min()
}

/// The last year a fire time may fall in (in its own zone): RFC 3339 writes years with four
/// digits, so a time in the year 10000 could not be printed in any report. Fire times after
/// 9999-12-31 are treated as never coming.
pub const LAST_YEAR: i32 = 9999;

/// How every command prints an instant: RFC 3339 with the zone's offset (`2026-03-08T03:00:00-04:00`).
pub fn format_instant(at: &DateTime<Tz>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// Iterator over the fire times of a schedule; see [`Schedule::upcoming`].
#[derive(Debug, Clone)]
pub struct Upcoming<'a> {
    schedule: &'a Schedule,
    tz: Tz,
    cursor: Option<DateTime<Utc>>,
}

impl Iterator for Upcoming<'_> {
    type Item = DateTime<Tz>;

    fn next(&mut self) -> Option<DateTime<Tz>> {
        let next = self.schedule.next_after(self.cursor?, self.tz);
        self.cursor = next.map(|at| at.with_timezone(&Utc));
        next
    }
}
