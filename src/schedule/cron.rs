//! A cron expression: five fields (or six with leading seconds), matched against wall-clock
//! times and searched field by field for the next match.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::error::ScheduleError;
use super::field::{Field, FieldSpec};

/// How the day-of-month and day-of-week fields combine (Vixie cron's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRule {
    /// A field starts with `*`: a day must match both fields.
    Both,
    /// Both fields are restricted: a day matches if either field matches.
    Either,
}

/// How a daylight-saving change is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DstRule {
    /// Minute and hour are fixed: the schedule names wall-clock times. A time skipped by a
    /// spring-forward change fires once at the first instant after the gap; a repeated time
    /// fires only at its first occurrence.
    WallClock,
    /// Minute or hour is `*` or a step: the schedule fires whenever the local clock shows a
    /// matching time, so through both copies of a repeated hour and never inside a gap.
    Elapsed,
}

/// Days after which every calendar (weekdays included) repeats: 400 Gregorian years.
const SEARCH_YEARS: i32 = 401;

/// Bits 1, 8, 15, 22 and 29: the days of a month that share a weekday with day 1.
const SAME_WEEKDAY: u32 = (1 << 1) | (1 << 8) | (1 << 15) | (1 << 22) | (1 << 29);

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    fields: [FieldSpec; 6],
    has_seconds: bool,
    day_rule: DayRule,
    dst_rule: DstRule,
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u32,
    months: u32,
    weekdays: u32,
    every_day: bool,
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Cron, ScheduleError> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let (has_seconds, texts) = match parts.len() {
            5 => (
                false,
                ["0", parts[0], parts[1], parts[2], parts[3], parts[4]],
            ),
            6 => (
                true,
                [parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]],
            ),
            found => {
                return Err(ScheduleError::FieldCount {
                    found,
                    expr: expr.trim().to_owned(),
                });
            }
        };
        let order = [
            Field::Second,
            Field::Minute,
            Field::Hour,
            Field::DayOfMonth,
            Field::Month,
            Field::DayOfWeek,
        ];
        // Report the first bad field in the order the user wrote them.
        let mut specs = Vec::with_capacity(6);
        for (field, text) in order.into_iter().zip(texts) {
            specs.push(FieldSpec::parse(field, text)?);
        }
        let fields: [FieldSpec; 6] = specs
            .try_into()
            .expect("exactly six fields were parsed above");
        let [second, minute, hour, dom, month, dow] = &fields;
        let day_rule = if dom.starts_with_star || dow.starts_with_star {
            DayRule::Both
        } else {
            DayRule::Either
        };
        let dst_rule = if minute.is_fixed && hour.is_fixed {
            DstRule::WallClock
        } else {
            DstRule::Elapsed
        };
        let (seconds, minutes, hours) = (second.bits, minute.bits, hour.bits);
        let (days, months, weekdays) = (dom.bits as u32, month.bits as u32, dow.bits as u32);
        let every_day = day_rule == DayRule::Both && dom.is_full() && dow.is_full();
        let cron = Cron {
            fields,
            has_seconds,
            day_rule,
            dst_rule,
            seconds,
            minutes,
            hours,
            days,
            months,
            weekdays,
            every_day,
        };
        cron.check_fires(texts[3], texts[4])?;
        Ok(cron)
    }

    /// Rejects day-of-month values that no selected month has (`0 0 30 2 *`), which would
    /// otherwise be accepted and never fire.
    fn check_fires(&self, days: &str, months: &str) -> Result<(), ScheduleError> {
        if self.day_rule == DayRule::Either {
            return Ok(());
        }
        let possible = (1..=12u32)
            .filter(|m| self.months & (1 << m) != 0)
            .any(|m| u64::from(self.days) & ((1u64 << (max_days_in_month(m) + 1)) - 2) != 0);
        if possible {
            Ok(())
        } else {
            Err(ScheduleError::NeverFires {
                days: days.to_owned(),
                months: months.to_owned(),
            })
        }
    }

    /// The parsed fields: second, minute, hour, day of month, month, day of week.
    pub fn fields(&self) -> &[FieldSpec; 6] {
        &self.fields
    }

    /// Whether the expression was written with a leading seconds field.
    pub fn has_seconds(&self) -> bool {
        self.has_seconds
    }

    pub fn day_rule(&self) -> DayRule {
        self.day_rule
    }

    pub fn dst_rule(&self) -> DstRule {
        self.dst_rule
    }

    /// Whether a wall-clock time matches every field (sub-second parts are ignored).
    pub fn matches(&self, at: NaiveDateTime) -> bool {
        let date = at.date();
        has(self.seconds, at.second())
            && has(self.minutes, at.minute())
            && has(self.hours, at.hour())
            && has(u64::from(self.months), date.month())
            && self.day_matches(date)
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = has(u64::from(self.days), date.day());
        let dow = has(
            u64::from(self.weekdays),
            date.weekday().num_days_from_sunday(),
        );
        match self.day_rule {
            DayRule::Both => dom && dow,
            DayRule::Either => dom || dow,
        }
    }

    /// The first wall-clock time strictly after `after` (whole seconds) that matches, found by
    /// jumping from field to field; `None` only past the end of chrono's calendar.
    pub fn next_local_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = after
            .with_nanosecond(0)?
            .checked_add_signed(chrono::Duration::seconds(1))?;
        let mut t = Cursor::at(start);
        let last_year = t.year.checked_add(SEARCH_YEARS)?;
        loop {
            if t.year > last_year {
                return None;
            }
            match next_bit(u64::from(self.months), t.month) {
                Some(m) if m == t.month => {}
                Some(m) => t.set_month(t.year, m),
                None => {
                    t.set_month(t.year + 1, lowest(u64::from(self.months)));
                    continue;
                }
            }
            let days = self.days_of_month(t.year, t.month);
            match next_bit(u64::from(days), t.day) {
                Some(d) if d == t.day => {}
                Some(d) => t.set_day(d),
                None => {
                    t.next_month();
                    continue;
                }
            }
            match next_bit(self.hours, t.hour) {
                Some(h) if h == t.hour => {}
                Some(h) => {
                    t.hour = h;
                    t.minute = lowest(self.minutes);
                    t.second = lowest(self.seconds);
                    return t.to_naive();
                }
                None => {
                    t.next_day();
                    continue;
                }
            }
            match next_bit(self.minutes, t.minute) {
                Some(m) if m == t.minute => {}
                Some(m) => {
                    t.minute = m;
                    t.second = lowest(self.seconds);
                    return t.to_naive();
                }
                None => {
                    t.next_hour();
                    continue;
                }
            }
            match next_bit(self.seconds, t.second) {
                Some(s) => {
                    t.second = s;
                    return t.to_naive();
                }
                None => t.next_minute(),
            }
        }
    }

    /// Bits 1..=31 of the days of `month` that match the day fields.
    fn days_of_month(&self, year: i32, month: u32) -> u32 {
        let valid = ((1u64 << (days_in_month(year, month) + 1)) - 2) as u32;
        if self.every_day {
            return valid;
        }
        let first = weekday_of_first(year, month);
        let by_weekday = (0..7u32)
            .filter(|k| self.weekdays & (1 << ((first + k) % 7)) != 0)
            .fold(0u32, |acc, k| acc | SAME_WEEKDAY << k);
        let matching = match self.day_rule {
            DayRule::Both => self.days & by_weekday,
            DayRule::Either => self.days | by_weekday,
        };
        matching & valid
    }
}

/// A calendar position with plain integer fields, so carrying is cheap.
struct Cursor {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Cursor {
    fn at(t: NaiveDateTime) -> Cursor {
        Cursor {
            year: t.year(),
            month: t.month(),
            day: t.day(),
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
        }
    }

    fn to_naive(&self) -> Option<NaiveDateTime> {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day)?.and_hms_opt(
            self.hour,
            self.minute,
            self.second,
        )
    }

    fn set_month(&mut self, year: i32, month: u32) {
        self.year = year;
        self.month = month;
        self.set_day(1);
    }

    fn set_day(&mut self, day: u32) {
        self.day = day;
        self.hour = 0;
        self.minute = 0;
        self.second = 0;
    }

    fn next_month(&mut self) {
        if self.month == 12 {
            self.set_month(self.year + 1, 1);
        } else {
            self.set_month(self.year, self.month + 1);
        }
    }

    fn next_day(&mut self) {
        if self.day >= days_in_month(self.year, self.month) {
            self.next_month();
        } else {
            self.set_day(self.day + 1);
        }
    }

    fn next_hour(&mut self) {
        if self.hour == 23 {
            self.next_day();
        } else {
            self.hour += 1;
            self.minute = 0;
            self.second = 0;
        }
    }

    fn next_minute(&mut self) {
        if self.minute == 59 {
            self.next_hour();
        } else {
            self.minute += 1;
            self.second = 0;
        }
    }
}

fn has(bits: u64, value: u32) -> bool {
    value < 64 && bits & (1 << value) != 0
}

/// The smallest set bit at or above `from`.
fn next_bit(bits: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = bits >> from;
    (rest != 0).then(|| from + rest.trailing_zeros())
}

fn lowest(bits: u64) -> u32 {
    bits.trailing_zeros()
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn max_days_in_month(month: u32) -> u32 {
    if month == 2 {
        29
    } else {
        days_in_month(2001, month)
    }
}

/// Day of week (0 = Sunday) of the first day of a month (Sakamoto's method).
fn weekday_of_first(year: i32, month: u32) -> u32 {
    const OFFSETS: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    let w = y + y.div_euclid(4) - y.div_euclid(100)
        + y.div_euclid(400)
        + OFFSETS[month as usize - 1]
        + 1;
    w.rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekday_of_first_agrees_with_chrono() {
        for year in [1900, 1999, 2000, 2024, 2026, 2100, 2400] {
            for month in 1..=12 {
                let date = NaiveDate::from_ymd_opt(year, month, 1).expect("valid date");
                assert_eq!(
                    weekday_of_first(year, month),
                    date.weekday().num_days_from_sunday(),
                    "{year}-{month}"
                );
            }
        }
    }

    #[test]
    fn days_in_month_knows_leap_years() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 4), 30);
    }
}
