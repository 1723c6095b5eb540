//! Errors of the schedule engine; each `Display` is the message a user reads.

use super::field::Field;

/// Why a schedule or a time zone was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "the schedule is empty (expected a cron expression such as `*/5 * * * *`, a macro such \
         as `@daily`, or `rate(5 minutes)`)"
    )]
    Empty,
    #[error(
        "unknown macro `{0}` (expected one of @yearly, @annually, @monthly, @weekly, @daily, \
         @midnight, @hourly, @reboot)"
    )]
    UnknownMacro(String),
    #[error("rate: {0}")]
    Rate(#[from] RateError),
    #[error(
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading \
         second field, found {found} in `{expr}`"
    )]
    FieldCount { found: usize, expr: String },
    #[error("{field}: {error}")]
    Field { field: Field, error: FieldError },
    #[error(
        "day-of-month: no month in `{months}` has a day `{days}`, so the schedule would never \
         fire"
    )]
    NeverFires { days: String, months: String },
    #[error("{}", unknown_time_zone_message(.0))]
    UnknownTimeZone(String),
    /// The `TZ` environment variable names no zone webstir knows. Kept apart from
    /// [`ScheduleError::UnknownTimeZone`] so that every command says where the name came from.
    #[error(
        "TZ: unknown time zone `{0}` (expected an IANA name such as `Europe/London`, a zone \
         file such as `:/etc/localtime`, or a POSIX rule such as `EST5EDT,M3.2.0,M11.1.0`)"
    )]
    UnknownEnvironmentTimeZone(String),
    /// A POSIX rule in `TZ` that no IANA zone follows (schedules are evaluated in IANA zones).
    #[error(
        "TZ: no IANA time zone follows the POSIX rule `{0}` from two years ago to thirty years \
         ahead; name the zone instead (for example `TZ=Europe/London`)"
    )]
    UnmatchedPosixRule(String),
}

/// What is wrong with one cron field; shown after the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{value} is out of range {accepted}")]
    OutOfRange { value: String, accepted: String },
    #[error("`{token}` is not a number (expected {accepted})")]
    NotANumber { token: String, accepted: String },
    #[error("unknown name `{token}` (expected {accepted})")]
    UnknownName { token: String, accepted: String },
    #[error("empty item in list `{list}` (expected values separated by single commas)")]
    EmptyItem { list: String },
    #[error("malformed range `{token}` (expected START-END, such as `{example}`)")]
    MalformedRange { token: String, example: String },
    #[error(
        "range `{token}` runs backwards (write the lower value first; to wrap around, write `{suggestion}`)"
    )]
    Backwards { token: String, suggestion: String },
    #[error("the step in `{token}` must be a whole number from 1 to {max}")]
    BadStep { token: String, max: u8 },
}

/// What is wrong with a `rate(N unit)` schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("expected `rate(N unit)` such as `rate(5 minutes)`, found `{0}`")]
    Malformed(String),
    #[error("`{0}` is not a whole number of at least 1")]
    NotANumber(String),
    #[error("unknown unit `{0}` (expected second(s), minute(s), hour(s) or day(s))")]
    UnknownUnit(String),
    #[error("`{0}` is longer than the longest accepted interval, 3650 days")]
    TooLong(String),
}

fn unknown_time_zone_message(name: &str) -> String {
    let mut message = format!(
        "unknown time zone `{name}` (expected an IANA name such as `UTC`, `Europe/London` or \
         `America/New_York`)"
    );
    if let Some(suggestion) = suggest_time_zone(name) {
        message.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    message
}

fn suggest_time_zone(name: &str) -> Option<&'static str> {
    let wanted = name.to_ascii_lowercase();
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .map(|candidate| {
            let score = strsim::jaro_winkler(&wanted, &candidate.to_ascii_lowercase());
            (candidate, score)
        })
        .filter(|(_, score)| *score > 0.9)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(candidate, _)| candidate)
}
