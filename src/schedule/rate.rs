//! `rate(N unit)`: a fixed interval of elapsed time, counted from when the scheduler starts.

use std::time::Duration;

use super::error::RateError;

/// The longest accepted interval; anything longer is almost surely a typo.
const MAX_SECS: u64 = 3650 * 86_400;

/// Parses the text of a schedule that starts with `rate(` (any case). Units may be singular or
/// plural whatever N is, and spaces are allowed around N and the unit.
pub fn parse(text: &str) -> Result<Duration, RateError> {
    let malformed = || RateError::Malformed(text.to_owned());
    let inner = text
        .get(5..)
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(malformed)?;
    let mut words = inner.split_whitespace();
    let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(malformed());
    };
    let digits = !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit());
    if !digits || count.bytes().all(|b| b == b'0') {
        return Err(RateError::NotANumber(count.to_owned()));
    }
    let unit_secs = match unit.to_ascii_lowercase().as_str() {
        "second" | "seconds" => 1,
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return Err(RateError::UnknownUnit(unit.to_owned())),
    };
    // A whole number too large for any integer type is too long an interval, not "not a
    // number".
    let count = count
        .parse::<u64>()
        .map_err(|_| RateError::TooLong(format!("{count} {unit}")))?;
    match count.checked_mul(unit_secs) {
        Some(secs) if secs <= MAX_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(RateError::TooLong(format!("{count} {unit}"))),
    }
}

/// "5 minutes", "hour", "90 seconds": the interval in the largest unit that divides it, to
/// follow "every".
pub fn describe_interval(interval: Duration) -> String {
    let secs = interval.as_secs();
    let (n, unit) = [(86_400, "day"), (3600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| secs.is_multiple_of(*size))
        .map_or((secs, "second"), |(size, unit)| (secs / size, unit));
    if n == 1 {
        unit.to_owned()
    } else {
        format!("{n} {unit}s")
    }
}
