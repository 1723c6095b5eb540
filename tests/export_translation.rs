//! `webstir export` translations fire when webstir fires: every `OnCalendar=` agrees with
//! `webstir schedule` on the next ten fire times (by `systemd-analyze calendar`), every
//! EventBridge expression too (AWS's cron semantics computed here), and GitHub's UTC crons fire
//! at the same instants as the job in its own zone.

mod export_support;
mod scheduler_support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use export_support::*;

// ---------------------------------------------------------------------------------------------
// Translation: the exported schedules fire when webstir fires

/// (schedule, zone) pairs; each becomes a job of its own.
const CRONS: &[(&str, &str)] = &[
    ("*/15 9-17 * * MON-FRI", "Europe/London"),
    ("0 0 13 * 5", "UTC"),
    ("0 0 */2 * 1", "UTC"),
    ("30 2 * * 0,6", "America/New_York"),
    ("5/10 * * * *", "Asia/Kolkata"),
    ("@weekly", "Australia/Sydney"),
    ("0 12 * * 1/2", "UTC"),
    ("0 6 1,15 * *", "Asia/Tokyo"),
    ("*/20 * * * * *", "UTC"),
    ("0 0 1-31 * 1", "UTC"),
    ("0 9-17/4 * 2,8 *", "America/Bogota"),
    ("45 23 * * SUN", "Asia/Tokyo"),
];

/// The `OnCalendar=` lines of each timer, by job index.
fn calendars(dir: &Path) -> BTreeMap<usize, Vec<String>> {
    let mut by_job = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("read units") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let Some(index) = name
            .strip_prefix("demo-job")
            .and_then(|rest| rest.strip_suffix(".timer"))
        else {
            continue;
        };
        let lines = fs::read_to_string(&path)
            .expect("read timer")
            .lines()
            .filter_map(|l| l.strip_prefix("OnCalendar="))
            .map(str::to_owned)
            .collect();
        by_job.insert(index.parse().expect("index"), lines);
    }
    by_job
}

/// `systemd-analyze calendar`'s next ten elapses of `spec` after BASE, in UTC.
fn systemd_times(spec: &str) -> Vec<DateTime<Utc>> {
    let out = validator(
        "systemd-analyze",
        &[
            "calendar",
            "--iterations=10",
            "--base-time=2026-01-05 00:00:00 UTC",
            spec,
        ],
        None,
    );
    assert_valid("systemd-analyze calendar", &out);
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains("Next elapse:") || l.contains("Iter. #"))
        .map(|l| {
            // "Next elapse: Mon 2026-01-05 09:05:00 UTC" (TZ=UTC)
            let words: Vec<&str> = l.split_whitespace().collect();
            let stamp = format!("{} {}", words[words.len() - 3], words[words.len() - 2]);
            Utc.from_utc_datetime(
                &chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S")
                    .expect("systemd time"),
            )
        })
        .collect()
}

#[test]
fn every_on_calendar_agrees_with_webstir_schedule_on_the_next_ten_fire_times() {
    let ws = workspace(&jobs_of(CRONS));
    let out = ws.path("units");
    ok(&export(
        &ws,
        &["--target", "systemd", "--out", out.to_str().expect("utf-8")],
    ));
    let by_job = calendars(&out);
    assert_eq!(by_job.len(), CRONS.len());
    for (i, (expr, zone)) in CRONS.iter().enumerate() {
        // A timer fires on any of its lines: merge them.
        let mut times: Vec<DateTime<Utc>> = by_job[&i]
            .iter()
            .flat_map(|spec| systemd_times(spec))
            .collect();
        times.sort();
        times.dedup();
        times.truncate(10);
        assert_eq!(
            times,
            webstir_times(&ws, expr, zone, 10),
            "`{expr}` in {zone} as {:?}",
            by_job[&i]
        );
    }
}

#[test]
fn every_eventbridge_expression_agrees_with_webstir_on_the_next_ten_fire_times() {
    let supported: Vec<(&str, &str)> = CRONS
        .iter()
        .copied()
        // AWS cannot OR the day fields, nor AND two restricted ones, nor fire on seconds.
        .filter(|(e, _)| !["0 0 13 * 5", "0 0 */2 * 1", "*/20 * * * * *"].contains(e))
        .collect();
    let ws = workspace(&jobs_of(&supported));
    let yaml = ok(&export(&ws, &["--target", "eventbridge"]));
    let expressions: Vec<(String, String)> = pairs_of(&yaml);
    assert_eq!(expressions.len(), supported.len(), "{yaml}");
    for ((expr, zone), (aws, aws_zone)) in supported.iter().zip(&expressions) {
        assert_eq!(aws_zone, zone);
        let tz: Tz = zone.parse().expect("zone");
        let base = DateTime::parse_from_rfc3339(BASE)
            .expect("base")
            .with_timezone(&Utc);
        assert_eq!(
            aws_cron_times(aws, tz, base, 10),
            webstir_times(&ws, expr, zone, 10),
            "`{expr}` in {zone} as {aws}"
        );
    }
}

/// (ScheduleExpression, ScheduleExpressionTimezone) of every resource, in order.
fn pairs_of(yaml: &str) -> Vec<(String, String)> {
    let value = |line: &str| -> String {
        serde_json::from_str(line.split_once(": ").expect("key: value").1).expect("json string")
    };
    let exprs = yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("ScheduleExpression:"))
        .map(value);
    let zones = yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("ScheduleExpressionTimezone:"))
        .map(value);
    exprs.zip(zones).collect()
}

/// AWS's cron semantics, computed here independently: `cron(min hour dom month dow year)`,
/// days of the week 1-7 from Sunday, `?` for "any" in one day field, and the two day fields
/// ANDed (one is always `?`).
fn aws_cron_times(expr: &str, tz: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    let inner = expr
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
        .expect("an AWS cron");
    let f: Vec<&str> = inner.split_whitespace().collect();
    assert_eq!(f.len(), 6, "{expr}");
    assert!(
        f[2] == "?" || f[4] == "?",
        "AWS needs `?` in a day field: {expr}"
    );
    let minutes = aws_field(f[0], 0, 59);
    let hours = aws_field(f[1], 0, 23);
    let days = aws_field(f[2], 1, 31);
    let months = aws_field(f[3], 1, 12);
    let weekdays = aws_field(f[4], 1, 7);
    assert_eq!(f[5], "*");
    let mut found = Vec::new();
    let mut t = after + Duration::minutes(1);
    t = t.with_second(0).expect("second 0");
    let limit = after + Duration::days(3 * 366);
    while found.len() < count && t < limit {
        let local = t.with_timezone(&tz);
        let day_ok = days[local.day() as usize]
            && months[local.month() as usize]
            && weekdays[local.weekday().number_from_sunday() as usize];
        if !day_ok {
            // Jump to the next local hour: no minute of this local day can match, and local
            // days start on local hours (even at half-hour offsets).
            t += Duration::minutes(60 - i64::from(local.minute()));
            continue;
        }
        if hours[local.hour() as usize] && minutes[local.minute() as usize] {
            found.push(t);
        }
        t += Duration::minutes(1);
    }
    found
}

/// An AWS cron field as a set of allowed values: `*`, `?`, `a`, `a-b`, `a/s`, `a-b/s`, lists.
fn aws_field(text: &str, lo: u32, hi: u32) -> Vec<bool> {
    let mut allowed = vec![false; hi as usize + 1];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().expect("step")),
            None => (item, 1),
        };
        let (start, end) = match range {
            "*" | "?" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().expect("start"), b.parse().expect("end")),
                None if item.contains('/') => (r.parse().expect("start"), hi),
                None => {
                    let v = r.parse().expect("value");
                    (v, v)
                }
            },
        };
        for v in (start..=end).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    allowed
}

#[test]
fn github_crons_fire_at_the_same_utc_instants_as_the_jobs() {
    // Zones without daylight saving, including a half-hour offset and a day shift.
    let crons: &[(&str, &str)] = &[
        ("30 8 * * 1-5", "Asia/Tokyo"),
        ("0 1,12 * * *", "Asia/Tokyo"),
        ("5/10 * * * *", "Asia/Kolkata"),
        ("45 23 * * SUN", "Asia/Tokyo"),
        ("0 22 10 * *", "America/Bogota"),
        ("*/15 9-17 * * MON-FRI", "UTC"),
    ];
    let ws = workspace(&jobs_of(crons));
    let yaml = ok(&export(&ws, &["--target", "github-actions"]));
    for (i, (expr, zone)) in crons.iter().enumerate() {
        let condition = yaml
            .lines()
            .skip_while(|l| l.trim() != format!("job{i}:"))
            .find(|l| l.trim_start().starts_with("if:"))
            .expect("the job's condition");
        let utc_crons: Vec<&str> = condition
            .split("github.event.schedule == '")
            .skip(1)
            .map(|rest| rest.split('\'').next().expect("closing quote"))
            .collect();
        assert!(!utc_crons.is_empty(), "{condition}");
        for cron in &utc_crons {
            assert!(
                yaml.contains(&format!("- cron: \"{cron}\"")),
                "`{cron}` is in on.schedule"
            );
        }
        let mut times: Vec<DateTime<Utc>> = utc_crons
            .iter()
            .flat_map(|c| webstir_times(&ws, c, "UTC", 10))
            .collect();
        times.sort();
        times.dedup();
        times.truncate(10);
        assert_eq!(
            times,
            webstir_times(&ws, expr, zone, 10),
            "`{expr}` in {zone} as {utc_crons:?}"
        );
    }
}

#[test]
fn github_refuses_a_zone_with_daylight_saving_and_says_why() {
    let ws = workspace(
        r#"[{ "name": "london", "schedule": "0 9 * * *", "timezone": "Europe/London" }]"#,
    );
    let out = export(&ws, &["--target", "github-actions"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("job `london`, schedule `0 9 * * *`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`Europe/London` observes daylight saving"),
        "{stderr}"
    );
    assert!(stderr.contains("github-actions"), "{stderr}");
    assert!(out.stdout.is_empty());
}
