//! One cron field: which values it accepts, how it is written, and how it parses into a set.

use std::fmt;

use super::error::{FieldError, ScheduleError};

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The six positions of a cron expression (the second field is optional and comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Second => "second",
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    /// Smallest and largest value as written (day of week allows 7 for Sunday).
    pub fn bounds(self) -> (u8, u8) {
        match self {
            Field::Second | Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    /// What the field accepts, as shown in error messages.
    pub fn accepted(self) -> String {
        let (lo, hi) = self.bounds();
        match self {
            Field::Month => format!("{lo}-{hi} or JAN-DEC"),
            Field::DayOfWeek => format!("{lo}-{hi} or SUN-SAT, where 0 and 7 are Sunday"),
            _ => format!("{lo}-{hi}"),
        }
    }

    fn names(self) -> Option<(&'static [&'static str], u8)> {
        match self {
            Field::Month => Some((&MONTH_NAMES, 1)),
            Field::DayOfWeek => Some((&DAY_NAMES, 0)),
            _ => None,
        }
    }

    fn error(self, error: FieldError) -> ScheduleError {
        ScheduleError::Field { field: self, error }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The shape of one comma-separated item, kept for the plain-English description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `*` (step 1) or `*/n`.
    Every { step: u8 },
    /// A single value such as `5` or `MON`.
    Value(u8),
    /// `a-b`, `a-b/n`, or `a/n` (which runs to the field's maximum).
    Range { start: u8, end: u8, step: u8 },
}

/// A parsed field: the set of values it allows and the items it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub field: Field,
    /// Bit `v` is set when value `v` is allowed; day of week 7 is folded into 0.
    pub bits: u64,
    pub items: Vec<Item>,
    /// Whether the field as written starts with `*`, which decides the day-field rule.
    pub starts_with_star: bool,
    /// Whether the field is written without `*` and without a step, which decides how a
    /// daylight-saving change is handled.
    pub is_fixed: bool,
}

impl FieldSpec {
    pub fn parse(field: Field, text: &str) -> Result<FieldSpec, ScheduleError> {
        let mut bits = 0u64;
        let mut items = Vec::new();
        for token in text.split(',') {
            if token.is_empty() {
                return Err(field.error(FieldError::EmptyItem {
                    list: text.to_owned(),
                }));
            }
            let item = parse_item(field, token)?;
            bits |= item_bits(field, item);
            items.push(item);
        }
        if field == Field::DayOfWeek && bits & (1 << 7) != 0 {
            bits = (bits & !(1 << 7)) | 1;
        }
        Ok(FieldSpec {
            field,
            bits,
            items,
            starts_with_star: text.starts_with('*'),
            is_fixed: !text.contains('*') && !text.contains('/'),
        })
    }

    /// Whether every value of the field is allowed.
    pub fn is_full(&self) -> bool {
        let (lo, hi) = self.field.bounds();
        let hi = if self.field == Field::DayOfWeek {
            6
        } else {
            hi
        };
        let all = ((1u64 << (hi + 1)) - 1) & !((1u64 << lo) - 1);
        self.bits == all
    }

    /// The only allowed value, if there is exactly one.
    pub fn single(&self) -> Option<u8> {
        (self.bits.count_ones() == 1).then(|| self.bits.trailing_zeros() as u8)
    }

    /// The allowed values in increasing order.
    pub fn values(&self) -> impl Iterator<Item = u8> + '_ {
        (0u8..64).filter(|v| self.bits & (1 << v) != 0)
    }
}

fn parse_item(field: Field, token: &str) -> Result<Item, ScheduleError> {
    let (range, step) = match token.split_once('/') {
        Some((range, step)) => (range, Some(parse_step(field, token, step)?)),
        None => (token, None),
    };
    let (lo, hi) = field.bounds();
    if range == "*" {
        return Ok(Item::Every {
            step: step.unwrap_or(1),
        });
    }
    if let Some((start, end)) = range.split_once('-') {
        if start.is_empty() || end.is_empty() || end.contains('-') {
            return Err(field.error(FieldError::MalformedRange {
                token: token.to_owned(),
                example: format!("{lo}-{}", lo + 5),
            }));
        }
        let start = parse_value(field, start)?;
        let end = parse_value(field, end)?;
        if start > end {
            return Err(field.error(FieldError::Backwards {
                token: range.to_owned(),
                suggestion: wrapped_range(field, start, end),
            }));
        }
        return Ok(Item::Range {
            start,
            end,
            step: step.unwrap_or(1),
        });
    }
    let value = parse_value(field, range)?;
    Ok(match step {
        // A step on a single start runs to the field's maximum, as in Vixie cron.
        Some(step) => Item::Range {
            start: value,
            end: hi,
            step,
        },
        None => Item::Value(value),
    })
}

fn parse_step(field: Field, token: &str, step: &str) -> Result<u8, ScheduleError> {
    let (_, hi) = field.bounds();
    let bad = || {
        field.error(FieldError::BadStep {
            token: token.to_owned(),
            max: hi,
        })
    };
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match step.parse::<u8>() {
        Ok(n) if (1..=hi).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

fn parse_value(field: Field, text: &str) -> Result<u8, ScheduleError> {
    let (lo, hi) = field.bounds();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u8>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => Err(field.error(FieldError::OutOfRange {
                value: text.to_owned(),
                accepted: field.accepted(),
            })),
        };
    }
    if let Some((names, first)) = field.names()
        && !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
            .map(|i| i as u8 + first)
            .ok_or_else(|| {
                field.error(FieldError::UnknownName {
                    token: text.to_owned(),
                    accepted: field.accepted(),
                })
            });
    }
    Err(field.error(FieldError::NotANumber {
        token: text.to_owned(),
        accepted: field.accepted(),
    }))
}

fn item_bits(field: Field, item: Item) -> u64 {
    let (lo, hi) = field.bounds();
    let (start, end, step) = match item {
        Item::Every { step } => (lo, hi, step),
        Item::Value(v) => (v, v, 1),
        Item::Range { start, end, step } => (start, end, step),
    };
    (start..=end)
        .step_by(usize::from(step))
        .fold(0, |bits, v| bits | 1 << v)
}

/// The display name of a month (1-12).
pub fn month_name(month: u8) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES[usize::from(month.clamp(1, 12) - 1)]
}

/// The display name of a day of the week (0-7, both 0 and 7 are Sunday).
pub fn weekday_name(day: u8) -> &'static str {
    const NAMES: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    NAMES[usize::from(day % 7)]
}

/// What a backwards range such as `22-2` most likely means, written forwards: `22-23,0-2`.
/// Sunday is both 0 and 7, so `MON-SUN` is `1-7` and `SAT-TUE` is `6-7,1-2`.
fn wrapped_range(field: Field, start: u8, end: u8) -> String {
    let span = |a: u8, b: u8| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    let (lo, hi) = field.bounds();
    match field {
        Field::DayOfWeek if end == 0 => span(start, 7),
        Field::DayOfWeek if start == 7 => span(0, end),
        Field::DayOfWeek => format!("{},{}", span(start, 7), span(1, end)),
        _ => format!("{},{}", span(start, hi), span(lo, end)),
    }
}
