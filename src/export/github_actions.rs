//! GitHub Actions: one workflow whose `on.schedule` holds every job's crons, in UTC, and whose
//! `workflow_dispatch` offers each job by name. GitHub has no time zones, so a job in another
//! zone is shifted to UTC, which keeps its fire times only for a zone without daylight saving.

use std::collections::BTreeMap;

use chrono::{Datelike, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::dialect::{CRON, minute_resolution, render_values};
use super::{
    ExportError, ExportJob, ExportOptions, OutputFile, Report, Target, ceil_secs, one_line,
    shell_word, yaml_str,
};
use crate::manifest::policy::Overlap;
use crate::schedule::{Cron, DayRule, Field, Schedule, ScheduleKind};

#[derive(Serialize)]
struct Data {
    package: Option<String>,
    crons: Vec<String>,
    jobs: Vec<Job>,
}

#[derive(Serialize)]
struct Job {
    id: String,
    name: String,
    name_quoted: String,
    name_shell: String,
    sources: Vec<String>,
    condition: String,
    timeout_minutes: Option<u64>,
    /// `cancel-in-progress` of the job's concurrency group, when it has one.
    cancel_in_progress: Option<bool>,
}

pub fn render(
    jobs: &[ExportJob],
    options: &ExportOptions,
    report: &mut Report,
) -> Result<Vec<OutputFile>, ExportError> {
    let mut all_crons: Vec<String> = Vec::new();
    let mut out_jobs = Vec::new();
    for job in jobs {
        let mut crons: Vec<String> = Vec::new();
        let mut sources = Vec::new();
        for schedule in &job.schedules {
            match utc_crons(schedule, job.tz) {
                Ok(translated) => {
                    sources.push(one_line(schedule.source()));
                    for cron in translated {
                        if !crons.contains(&cron) {
                            crons.push(cron);
                        }
                    }
                }
                Err(reason) => report.unsupported(job, schedule.source(), reason),
            }
        }
        for cron in &crons {
            if !all_crons.contains(cron) {
                all_crons.push(cron.clone());
            }
        }
        let dispatch = format!(
            "github.event_name == 'workflow_dispatch' && inputs.job == '{}'",
            job.name
        );
        let condition = if crons.is_empty() {
            dispatch
        } else {
            let matches: Vec<String> = crons
                .iter()
                .map(|c| format!("github.event.schedule == '{c}'"))
                .collect();
            format!(
                "({dispatch}) || (github.event_name == 'schedule' && ({}))",
                matches.join(" || ")
            )
        };
        let id = if job.name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            job.name.clone()
        } else {
            format!("job_{}", job.name)
        };
        out_jobs.push(Job {
            id,
            name: job.name.clone(),
            name_quoted: yaml_str(&job.name),
            name_shell: shell_word(&job.name),
            sources,
            condition: yaml_str(&condition),
            timeout_minutes: job.timeout.map(|t| ceil_secs(t).div_ceil(60)),
            cancel_in_progress: policies(job, report),
        });
    }
    let data = Data {
        package: options.package_name.as_deref().map(one_line),
        crons: all_crons.iter().map(|c| yaml_str(c)).collect(),
        jobs: out_jobs,
    };
    Ok(vec![OutputFile {
        name: "webstir-jobs.yml".to_owned(),
        contents: crate::templates::render("export/github-actions.yml", &data)?,
        executable: false,
    }])
}

/// Warns about the policies a workflow cannot express; returns the concurrency group's
/// `cancel-in-progress` for the overlap policies it can (a group keeps at most one run
/// pending, which is `queue`, or cancels the running one, which is `replace`).
fn policies(job: &ExportJob, report: &mut Report) -> Option<bool> {
    let p = &job.policies;
    if p.retry.as_ref().is_some_and(|r| r.attempts > 1) {
        report.warn(job, "retry", "a workflow run is not retried when it fails");
    }
    if p.jitter.is_some() {
        report.warn(job, "jitter", "GitHub has no random start delay");
    }
    if p.catch_up.is_some() {
        report.warn(
            job,
            "catchUp",
            "GitHub never runs a scheduled fire it missed",
        );
    }
    match p.overlap {
        Overlap::Allow => None,
        Overlap::Queue => Some(false),
        Overlap::Replace => Some(true),
        Overlap::Skip => {
            report.warn(
                job,
                "overlap",
                "a concurrency group can only queue or cancel, not skip; exported without \
                 one, so runs may overlap",
            );
            None
        }
    }
}

/// The UTC crons that fire at the same instants as `schedule` in `tz`, or why there are none.
pub fn utc_crons(schedule: &Schedule, tz: Tz) -> Result<Vec<String>, String> {
    let cron = match schedule.kind() {
        ScheduleKind::Cron | ScheduleKind::Macro => schedule
            .cron()
            .expect("cron and macro schedules have a cron"),
        ScheduleKind::Rate => {
            return Err(
                "a `rate(...)` counts from when the scheduler starts, and GitHub has \
                        only wall-clock crons"
                    .to_owned(),
            );
        }
        ScheduleKind::Reboot => {
            return Err("`@reboot` has no equivalent: GitHub has no start-up event".to_owned());
        }
    };
    minute_resolution(cron, Target::GithubActions)?;
    let offset = fixed_offset_minutes(tz).ok_or_else(|| {
        format!(
            "GitHub runs crons in UTC, and `{}` observes daylight saving, so no UTC cron fires \
             at the same local times all year",
            tz.name()
        )
    })?;
    shift(cron, offset)
}

/// The zone's offset from UTC in minutes when it is the same all through this year and the
/// next ten (no daylight saving, no announced change), else `None`.
fn fixed_offset_minutes(tz: Tz) -> Option<i32> {
    let year = Utc::now().year();
    let start = Utc.with_ymd_and_hms(year, 1, 1, 12, 0, 0).single()?;
    let mut offsets = (0..11 * 52).map(|week| {
        let at = start + chrono::Duration::weeks(week);
        tz.offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
    });
    let first = offsets.next()?;
    (offsets.all(|o| o == first) && first % 60 == 0).then_some(first / 60)
}

/// Day fields after the shift: the days of the month, the weekdays, and whether a day must
/// match both (`*` in one of them) or either.
struct Days {
    dom: u64,
    dow: u64,
    rule: DayRule,
}

const ALL_DOM: u64 = ((1u64 << 32) - 1) & !1;
const ALL_DOW: u64 = (1 << 7) - 1;
const ALL_MONTHS: u64 = ((1u64 << 13) - 1) & !1;

/// Moves a cron `offset` minutes back (local → UTC): each minute-and-hour pair lands on a UTC
/// time and possibly the day before or after; pairs are grouped back into crons by the day
/// they shift to and by the minutes they share.
fn shift(cron: &Cron, offset: i32) -> Result<Vec<String>, String> {
    let [_, minute, hour, dom, month, dow] = cron.fields();
    let mut days = Days {
        dom: dom.bits,
        dow: dow.bits,
        rule: cron.day_rule(),
    };
    if days.rule == DayRule::Either && (dom.is_full() || dow.is_full()) {
        days = Days {
            dom: ALL_DOM,
            dow: ALL_DOW,
            rule: DayRule::Both,
        };
    }
    if days.rule == DayRule::Both && days.dom != ALL_DOM && days.dow != ALL_DOW {
        return Err(
            "both day fields are restricted and must both match, but GitHub's cron fires when \
             either matches"
                .to_owned(),
        );
    }
    // day shift → UTC hour → UTC minutes
    let mut groups: BTreeMap<i32, BTreeMap<u8, u64>> = BTreeMap::new();
    for h in hour.values() {
        for m in minute.values() {
            let utc = i32::from(h) * 60 + i32::from(m) - offset;
            let day = utc.div_euclid(1440);
            let rest = utc.rem_euclid(1440);
            let (uh, um) = ((rest / 60) as u8, (rest % 60) as u8);
            *groups.entry(day).or_default().entry(uh).or_default() |= 1 << um;
        }
    }
    let mut crons = Vec::new();
    for (day, hours) in groups {
        let (dom_text, month_text, dow_text) = shifted_days(&days, month.bits, day)?;
        // Hours that share the same minutes become one cron.
        let mut by_minutes: Vec<(u64, u64)> = Vec::new();
        for (h, minutes) in hours {
            match by_minutes.iter_mut().find(|(m, _)| *m == minutes) {
                Some((_, hours)) => *hours |= 1 << h,
                None => by_minutes.push((minutes, 1 << h)),
            }
        }
        for (minutes, hours) in by_minutes {
            crons.push(format!(
                "{} {} {dom_text} {month_text} {dow_text}",
                bits_text(minutes, Field::Minute, true),
                bits_text(hours, Field::Hour, true),
            ));
        }
    }
    Ok(crons)
}

/// Day-of-month, month and day-of-week fields for runs that move `day` days (-1, 0 or 1).
fn shifted_days(days: &Days, months: u64, day: i32) -> Result<(String, String, String), String> {
    let star = days.rule == DayRule::Both;
    let month_text = bits_text(months, Field::Month, true);
    if day == 0 {
        return Ok((
            bits_text(days.dom, Field::DayOfMonth, star),
            month_text,
            bits_text(days.dow, Field::DayOfWeek, star),
        ));
    }
    let crosses = || {
        format!(
            "shifting the job's times to UTC moves runs {} midnight, and cron cannot shift the \
             days of the month and the months with them",
            if day < 0 { "before" } else { "past" }
        )
    };
    let every_day = days.dom == ALL_DOM;
    if !every_day {
        // Day v becomes v + day; that stays in the same month only for days every month has.
        let lo = days.dom.trailing_zeros() as i32;
        let hi = 63 - days.dom.leading_zeros() as i32;
        if (day < 0 && lo < 2) || (day > 0 && hi > 27) {
            return Err(crosses());
        }
    }
    if (every_day || days.rule == DayRule::Either) && months != ALL_MONTHS {
        // Runs on the first or last day of a month move into a month the job does not name.
        return Err(crosses());
    }
    let dom = if every_day {
        ALL_DOM
    } else if day < 0 {
        days.dom >> 1
    } else {
        days.dom << 1
    };
    let dow = (0..7u32)
        .filter(|d| days.dow & (1 << d) != 0)
        .fold(0u64, |acc, d| {
            acc | 1 << (i64::from(d) + i64::from(day)).rem_euclid(7)
        });
    Ok((
        bits_text(dom, Field::DayOfMonth, star),
        month_text,
        bits_text(dow, Field::DayOfWeek, star),
    ))
}

fn bits_text(bits: u64, field: Field, star: bool) -> String {
    let (lo, hi) = field.bounds();
    let hi = if field == Field::DayOfWeek { 6 } else { hi };
    let full = ((1u64 << (hi + 1)) - 1) & !((1u64 << lo) - 1);
    if star && bits == full {
        return "*".to_owned();
    }
    let values: Vec<u8> = (lo..=hi).filter(|v| bits & (1 << v) != 0).collect();
    render_values(&values, lo, hi, CRON, &|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(expr: &str, zone: &str) -> Result<Vec<String>, String> {
        let tz: Tz = zone.parse().expect("zone");
        utc_crons(&Schedule::parse(expr).expect("valid"), tz)
    }

    #[test]
    fn shifts_hours_and_days() {
        assert_eq!(utc("0 9 * * *", "UTC"), Ok(vec!["0 9 * * *".to_owned()]));
        assert_eq!(
            utc("0 9 * * *", "Asia/Tokyo"),
            Ok(vec!["0 0 * * *".to_owned()])
        );
        assert_eq!(
            utc("0 8 * * MON-FRI", "Asia/Tokyo"),
            Ok(vec!["0 23 * * 0-4".to_owned()])
        );
        assert_eq!(
            utc("30 6,20 * * *", "Asia/Kolkata"),
            Ok(vec!["0 1,15 * * *".to_owned()])
        );
        assert_eq!(
            utc("0 1,12 * * *", "Asia/Tokyo"),
            Ok(vec!["0 16 * * *".to_owned(), "0 3 * * *".to_owned()])
        );
        assert_eq!(
            utc("0 22 10 * *", "America/Bogota"),
            Ok(vec!["0 3 11 * *".to_owned()])
        );
    }

    #[test]
    fn refuses_daylight_saving_and_month_crossings() {
        assert!(utc("0 9 * * *", "Europe/London").is_err());
        assert!(utc("0 1 1 * *", "Asia/Tokyo").is_err());
        assert!(utc("0 1 * 1 *", "Asia/Tokyo").is_err());
        assert!(utc("rate(5 minutes)", "UTC").is_err());
    }
}
