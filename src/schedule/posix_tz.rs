//! POSIX `TZ` rule strings (`EST5EDT,M3.2.0,M11.1.0`, `<+0530>-5:30`), as cron and the C
//! library read them from the environment.
//!
//! Schedules are evaluated in chrono-tz zones, so a rule is matched to the IANA zone that keeps
//! exactly the rule's offsets over a window around now (two years back, thirty ahead): every
//! transition of the rule in that window is checked on both sides. A rule no zone follows is
//! refused rather than approximated.

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Years checked before and after the current one.
const YEARS_BACK: i32 = 2;
const YEARS_AHEAD: i32 = 30;

/// A parsed rule: offsets in seconds east of UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosixTz {
    /// The rule up to its dates (`EST5EDT`), which is often an IANA name itself.
    head: String,
    std_name: String,
    std_offset: i32,
    dst: Option<Dst>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dst {
    offset: i32,
    start: Transition,
    end: Transition,
}

/// A day of the year and a local time (seconds, may exceed a day or be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    day: DayRule,
    time: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    /// `Jn`: day 1-365, February 29 never counted.
    JulianNoLeap(u16),
    /// `n`: day 0-365, February 29 counted in leap years.
    Julian(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { month: u32, week: u32, weekday: u32 },
}

impl PosixTz {
    /// Parses a POSIX `TZ` rule; `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<PosixTz> {
        let head = text.split(',').next().unwrap_or(text).to_owned();
        let mut p = Parser { rest: text };
        let std_name = p.name()?;
        let std_offset = -p.offset(24)?;
        if p.rest.is_empty() {
            return Some(PosixTz {
                head,
                std_name,
                std_offset,
                dst: None,
            });
        }
        p.name()?;
        let dst_offset = if p.rest.starts_with(',') || p.rest.is_empty() {
            std_offset + 3600
        } else {
            -p.offset(24)?
        };
        let (start, end) = if p.rest.is_empty() {
            // The C library's default rule for a zone with summer time and no dates: the US one.
            (Transition::month(3, 2, 0), Transition::month(11, 1, 0))
        } else {
            p.eat(',')?;
            let start = p.transition()?;
            p.eat(',')?;
            let end = p.transition()?;
            (start, end)
        };
        if !p.rest.is_empty() {
            return None;
        }
        Some(PosixTz {
            head,
            std_name,
            std_offset,
            dst: Some(Dst {
                offset: dst_offset,
                start,
                end,
            }),
        })
    }

    /// The offset (seconds east of UTC) the rule gives at `at`.
    fn offset_at(&self, at: i64) -> i32 {
        let Some(dst) = &self.dst else {
            return self.std_offset;
        };
        let year = year_of(at + i64::from(self.std_offset));
        let start = dst.start.instant(year, self.std_offset);
        let end = dst.end.instant(year, dst.offset);
        let (Some(start), Some(end)) = (start, end) else {
            return self.std_offset;
        };
        let in_dst = if start < end {
            (start..end).contains(&at)
        } else {
            at < end || at >= start
        };
        if in_dst { dst.offset } else { self.std_offset }
    }

    /// Instants where the rule's offset may change within `years`, with a mid-year instant
    /// for rules without summer time.
    fn checkpoints(&self, years: std::ops::RangeInclusive<i32>) -> Vec<i64> {
        let mut points = Vec::new();
        for year in years {
            if let Some(mid) = NaiveDate::from_ymd_opt(year, 7, 1) {
                points.push(
                    mid.and_hms_opt(0, 0, 0)
                        .map_or(0, |t| t.and_utc().timestamp()),
                );
            }
            if let Some(dst) = &self.dst {
                let transitions = [
                    dst.start.instant(year, self.std_offset),
                    dst.end.instant(year, dst.offset),
                ];
                for at in transitions.into_iter().flatten() {
                    points.extend([at - 1, at, at + 1800]);
                }
            }
        }
        points
    }

    /// The IANA zone with this rule's offsets at every checkpoint around `now`.
    pub fn matching_zone(&self, now: DateTime<Utc>) -> Option<Tz> {
        let year = now.year();
        let points = self.checkpoints(year - YEARS_BACK..=year + YEARS_AHEAD);
        let agrees = |tz: &Tz| {
            points.iter().all(|&at| {
                DateTime::from_timestamp(at, 0).is_some_and(|utc| {
                    tz.offset_from_utc_datetime(&utc.naive_utc())
                        .fix()
                        .local_minus_utc()
                        == self.offset_at(at)
                })
            })
        };
        self.preferred_names()
            .iter()
            .filter_map(|name| name.parse::<Tz>().ok())
            .chain(chrono_tz::TZ_VARIANTS.iter().copied())
            .find(agrees)
    }

    /// Names tried first, so that `EST5EDT,...` shows as `EST5EDT` and `UTC0` as `UTC` rather
    /// than as the first zone of the alphabet with the same offsets.
    fn preferred_names(&self) -> Vec<String> {
        let mut names = vec![self.head.clone(), self.std_name.clone()];
        if self.dst.is_none() {
            if self.std_offset == 0 {
                names.insert(0, "UTC".into());
            } else if self.std_offset % 3600 == 0 {
                // `Etc/GMT+5` is five hours *behind* UTC, as in POSIX.
                names.push(format!("Etc/GMT{:+}", -self.std_offset / 3600));
            }
        }
        names
    }
}

impl Transition {
    fn month(month: u32, week: u32, weekday: u32) -> Transition {
        Transition {
            day: DayRule::Month {
                month,
                week,
                weekday,
            },
            time: 2 * 3600,
        }
    }

    /// The UTC instant of this transition in `year`, read in local time at `offset`.
    fn instant(&self, year: i32, offset: i32) -> Option<i64> {
        let date = match self.day {
            DayRule::JulianNoLeap(n) => {
                let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
                let ordinal = u32::from(n) + u32::from(leap && n >= 60);
                NaiveDate::from_yo_opt(year, ordinal)?
            }
            DayRule::Julian(n) => NaiveDate::from_yo_opt(year, u32::from(n) + 1)?,
            DayRule::Month {
                month,
                week,
                weekday,
            } => {
                let first = NaiveDate::from_ymd_opt(year, month, 1)?;
                let first_weekday = first.weekday().num_days_from_sunday();
                let mut day = 1 + (weekday + 7 - first_weekday) % 7 + 7 * (week - 1);
                let days_in_month = NaiveDate::from_ymd_opt(year, month + 1, 1)
                    .or_else(|| NaiveDate::from_ymd_opt(year + 1, 1, 1))?
                    .pred_opt()?
                    .day();
                while day > days_in_month {
                    day -= 7;
                }
                NaiveDate::from_ymd_opt(year, month, day)?
            }
        };
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
        Some(midnight + i64::from(self.time) - i64::from(offset))
    }
}

fn year_of(at: i64) -> i32 {
    DateTime::from_timestamp(at, 0).map_or(1970, |t| t.year())
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn eat(&mut self, c: char) -> Option<()> {
        self.rest = self.rest.strip_prefix(c)?;
        Some(())
    }

    /// `EST` (three or more letters) or `<+0530>` (letters, digits, `+` and `-` in brackets).
    fn name(&mut self) -> Option<String> {
        if let Some(quoted) = self.rest.strip_prefix('<') {
            let end = quoted.find('>')?;
            let name = &quoted[..end];
            let ok = name.len() >= 3
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-');
            self.rest = &quoted[end + 1..];
            return ok.then(|| name.to_owned());
        }
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(self.rest.len());
        let name = &self.rest[..end];
        self.rest = &self.rest[end..];
        (name.len() >= 3).then(|| name.to_owned())
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, hours at most `max_hours`.
    fn offset(&mut self, max_hours: i32) -> Option<i32> {
        let sign = if self.rest.starts_with('-') {
            self.rest = &self.rest[1..];
            -1
        } else {
            if self.rest.starts_with('+') {
                self.rest = &self.rest[1..];
            }
            1
        };
        let hours = self.number(0, max_hours)?;
        let mut seconds = hours * 3600;
        if self.rest.starts_with(':') {
            self.rest = &self.rest[1..];
            seconds += self.number(0, 59)? * 60;
            if self.rest.starts_with(':') {
                self.rest = &self.rest[1..];
                seconds += self.number(0, 59)?;
            }
        }
        Some(sign * seconds)
    }

    fn number(&mut self, min: i32, max: i32) -> Option<i32> {
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if end == 0 || end > 3 {
            return None;
        }
        let n: i32 = self.rest[..end].parse().ok()?;
        self.rest = &self.rest[end..];
        (min..=max).contains(&n).then_some(n)
    }

    /// `Mm.w.d`, `Jn` or `n`, with an optional `/time` (default 02:00, up to ±167 hours).
    fn transition(&mut self) -> Option<Transition> {
        let day = if let Some(rest) = self.rest.strip_prefix('M') {
            self.rest = rest;
            let month = self.number(1, 12)?;
            self.eat('.')?;
            let week = self.number(1, 5)?;
            self.eat('.')?;
            let weekday = self.number(0, 6)?;
            DayRule::Month {
                month: u32::try_from(month).ok()?,
                week: u32::try_from(week).ok()?,
                weekday: u32::try_from(weekday).ok()?,
            }
        } else if let Some(rest) = self.rest.strip_prefix('J') {
            self.rest = rest;
            DayRule::JulianNoLeap(u16::try_from(self.number(1, 365)?).ok()?)
        } else {
            DayRule::Julian(u16::try_from(self.number(0, 365)?).ok()?)
        };
        let time = if self.rest.starts_with('/') {
            self.rest = &self.rest[1..];
            self.offset(167)?
        } else {
            2 * 3600
        };
        Some(Transition { day, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn zone(rule: &str) -> Option<Tz> {
        PosixTz::parse(rule)
            .expect("a POSIX rule")
            .matching_zone(now())
    }

    #[test]
    fn rules_match_the_zone_that_keeps_their_offsets() {
        assert_eq!(zone("EST5EDT,M3.2.0,M11.1.0"), Some(Tz::EST5EDT));
        assert_eq!(zone("EST5EDT"), Some(Tz::EST5EDT));
        assert_eq!(zone("UTC0"), Some(Tz::UTC));
        assert_eq!(zone("EST5"), Some(Tz::EST));
        assert_eq!(zone("<+03>-3"), Some(Tz::Etc__GMTMinus3));
        assert_eq!(
            zone("<+0530>-5:30").map(|tz| tz.offset_from_utc_datetime(&now().naive_utc()).fix()),
            Some(chrono::FixedOffset::east_opt(5 * 3600 + 1800).expect("offset"))
        );
        let cet = zone("CET-1CEST,M3.5.0,M10.5.0/3").expect("a European zone");
        assert_eq!(cet.name(), "CET");
        // Southern hemisphere: summer time spans the new year.
        let sydney = zone("AEST-10AEDT,M10.1.0,M4.1.0/3").expect("an Australian zone");
        let offset_on = |date: &str| {
            let at = DateTime::parse_from_rfc3339(date)
                .expect("valid")
                .naive_utc();
            sydney.offset_from_utc_datetime(&at).fix().local_minus_utc()
        };
        assert_eq!(offset_on("2027-01-15T00:00:00Z"), 11 * 3600);
        assert_eq!(offset_on("2027-07-15T00:00:00Z"), 10 * 3600);
        // A rule no zone follows is refused, not approximated.
        assert_eq!(zone("ABC3XYZ,M2.1.0,M12.1.0"), None);
    }

    #[test]
    fn names_that_are_not_rules_do_not_parse() {
        for text in [
            "Mars/Olympus",
            "EST",
            "EST5EDT,M3.2.0",
            "EST5EDT,M13.1.0,M11.1.0",
            "E5",
            "",
        ] {
            assert_eq!(PosixTz::parse(text), None, "{text}");
        }
    }
}
