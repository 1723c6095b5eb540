//! The schedule engine through its public API: every example of shared/SCHEDULES.md, the
//! error messages, macros, rates and the daylight-saving corner cases.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use webstir::schedule::{
    DstRule, Schedule, ScheduleError, ScheduleKind, parse_timezone, resolve_timezone,
};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test instants are valid RFC 3339")
        .with_timezone(&Utc)
}

fn zone(name: &str) -> Tz {
    parse_timezone(name).expect("test zones exist")
}

/// The next `count` fire times after `from`, as RFC 3339 with offsets.
fn next(expr: &str, tz: &str, from: &str, count: usize) -> Vec<String> {
    Schedule::parse(expr)
        .expect("test schedules are valid")
        .upcoming(at(from), zone(tz))
        .take(count)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        .collect()
}

fn error(expr: &str) -> String {
    Schedule::parse(expr)
        .expect_err("the schedule must be rejected")
        .to_string()
}

#[test]
fn star_day_field_means_both_fields_must_match() {
    assert_eq!(
        next("0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", 5),
        [
            "2026-01-05T00:00:00+00:00",
            "2026-01-19T00:00:00+00:00",
            "2026-02-09T00:00:00+00:00",
            "2026-02-23T00:00:00+00:00",
            "2026-03-09T00:00:00+00:00",
        ]
    );
}

#[test]
fn two_restricted_day_fields_mean_either_may_match() {
    assert_eq!(
        next("0 0 13 * 5", "UTC", "2026-01-01T00:00:00Z", 5),
        [
            "2026-01-02T00:00:00+00:00",
            "2026-01-09T00:00:00+00:00",
            "2026-01-13T00:00:00+00:00",
            "2026-01-16T00:00:00+00:00",
            "2026-01-23T00:00:00+00:00",
        ]
    );
}

#[test]
fn step_on_a_single_weekday_runs_to_seven_which_is_sunday() {
    assert_eq!(
        next("0 0 * * 1/2", "UTC", "2026-01-01T00:00:00Z", 5),
        [
            "2026-01-02T00:00:00+00:00",
            "2026-01-04T00:00:00+00:00",
            "2026-01-05T00:00:00+00:00",
            "2026-01-07T00:00:00+00:00",
            "2026-01-09T00:00:00+00:00",
        ]
    );
}

#[test]
fn sunday_is_zero_or_seven_and_names_work_in_any_case() {
    let sundays = next("0 12 * * 0", "UTC", "2026-01-01T00:00:00Z", 3);
    assert_eq!(
        next("0 12 * * 7", "UTC", "2026-01-01T00:00:00Z", 3),
        sundays
    );
    assert_eq!(
        next("0 12 * * sun", "UTC", "2026-01-01T00:00:00Z", 3),
        sundays
    );
    assert_eq!(
        next("0 12 * * SUN,7", "UTC", "2026-01-01T00:00:00Z", 3),
        sundays
    );
    assert_eq!(sundays[0], "2026-01-04T12:00:00+00:00");
    assert_eq!(
        next("0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z", 4),
        [
            "2026-01-02T00:00:00+00:00",
            "2026-01-03T00:00:00+00:00",
            "2026-01-04T00:00:00+00:00",
            "2026-01-09T00:00:00+00:00",
        ]
    );
    assert_eq!(
        next("0 0 1 jan-Mar *", "UTC", "2026-01-01T00:00:00Z", 4),
        [
            "2026-02-01T00:00:00+00:00",
            "2026-03-01T00:00:00+00:00",
            "2027-01-01T00:00:00+00:00",
            "2027-02-01T00:00:00+00:00",
        ]
    );
}

#[test]
fn step_on_a_single_start_runs_to_the_maximum() {
    assert_eq!(
        next("5/10 * * * *", "UTC", "2026-01-01T00:50:00Z", 3),
        [
            "2026-01-01T00:55:00+00:00",
            "2026-01-01T01:05:00+00:00",
            "2026-01-01T01:15:00+00:00",
        ]
    );
}

#[test]
fn february_29th_and_the_31st_are_found_years_and_months_ahead() {
    assert_eq!(
        next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]
    );
    assert_eq!(
        next("0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", 3),
        [
            "2026-05-31T00:00:00+00:00",
            "2026-07-31T00:00:00+00:00",
            "2026-08-31T00:00:00+00:00",
        ]
    );
    // Feb 29 that is also a Monday (`*` in day of week's place means AND).
    assert_eq!(
        next("0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2032-02-29T00:00:00+00:00"]
    );
}

#[test]
fn year_end_rolls_into_the_next_year() {
    assert_eq!(
        next("59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", 1),
        ["2027-12-31T23:59:00+00:00"]
    );
    assert_eq!(
        next("* * * * *", "UTC", "2026-12-31T23:59:30Z", 1),
        ["2027-01-01T00:00:00+00:00"]
    );
}

#[test]
fn seconds_field_is_optional_and_comes_first() {
    assert_eq!(
        next("*/20 * * * * *", "UTC", "2026-01-01T00:00:50Z", 3),
        [
            "2026-01-01T00:01:00+00:00",
            "2026-01-01T00:01:20+00:00",
            "2026-01-01T00:01:40+00:00",
        ]
    );
    assert_eq!(
        next("30 0 12 * * *", "UTC", "2026-01-01T12:00:30Z", 1),
        ["2026-01-02T12:00:30+00:00"]
    );
}

#[test]
fn next_is_strictly_after_even_with_fractions_of_a_second() {
    assert_eq!(
        next("0 0 * * *", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-01-02T00:00:00+00:00"]
    );
    assert_eq!(
        next("* * * * *", "UTC", "2026-01-01T00:00:59.999Z", 1),
        ["2026-01-01T00:01:00+00:00"]
    );
}

#[test]
fn spring_forward_fires_a_skipped_fixed_time_once_after_the_gap() {
    assert_eq!(
        next(
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T00:00:00-05:00",
            3
        ),
        [
            "2026-03-07T02:30:00-05:00",
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:30:00-04:00",
        ]
    );
    // Lord Howe moves by 30 minutes: 02:00 becomes 02:30.
    assert_eq!(
        next(
            "0 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-03T00:00:00+10:30",
            3
        ),
        [
            "2026-10-03T02:00:00+10:30",
            "2026-10-04T02:30:00+11:00",
            "2026-10-05T02:00:00+11:00",
        ]
    );
    // Two skipped times and the end of the gap itself fire once between them.
    assert_eq!(
        next(
            "0,30 2,3 * * *",
            "America/New_York",
            "2026-03-08T01:00:00-05:00",
            3
        ),
        [
            "2026-03-08T03:00:00-04:00",
            "2026-03-08T03:30:00-04:00",
            "2026-03-09T02:00:00-04:00",
        ]
    );
}

#[test]
fn spring_forward_skips_gap_times_of_a_star_hour() {
    assert_eq!(
        next(
            "30 * * * *",
            "America/New_York",
            "2026-03-08T00:00:00-05:00",
            3
        ),
        [
            "2026-03-08T00:30:00-05:00",
            "2026-03-08T01:30:00-05:00",
            "2026-03-08T03:30:00-04:00",
        ]
    );
}

#[test]
fn fall_back_fires_a_repeated_fixed_time_once() {
    assert_eq!(
        next(
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00-04:00",
            2
        ),
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
    );
    // Asked from inside the second copy, the first occurrence has already passed.
    assert_eq!(
        next(
            "30 1 * * *",
            "America/New_York",
            "2026-11-01T01:10:00-05:00",
            1
        ),
        ["2026-11-02T01:30:00-05:00"]
    );
}

#[test]
fn fall_back_keeps_firing_a_star_or_stepped_hour_through_both_copies() {
    let expected = [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ];
    assert_eq!(
        next(
            "0 * * * *",
            "America/New_York",
            "2026-11-01T00:30:00-04:00",
            4
        ),
        expected
    );
    assert_eq!(
        next(
            "0 1/1 * * *",
            "America/New_York",
            "2026-11-01T00:30:00-04:00",
            4
        ),
        expected
    );
    // Asked from inside the first copy, the rest of it comes first, then the replay.
    assert_eq!(
        next(
            "*/20 * * * *",
            "America/New_York",
            "2026-11-01T01:30:00-04:00",
            5
        ),
        [
            "2026-11-01T01:40:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:20:00-05:00",
            "2026-11-01T01:40:00-05:00",
            "2026-11-01T02:00:00-05:00",
        ]
    );
    // Europe/London and Lord Howe's 30-minute fall-back.
    assert_eq!(
        next(
            "15 * * * *",
            "Europe/London",
            "2026-10-25T00:30:00+01:00",
            3
        ),
        [
            "2026-10-25T01:15:00+01:00",
            "2026-10-25T01:15:00+00:00",
            "2026-10-25T02:15:00+00:00",
        ]
    );
    assert_eq!(
        next(
            "45 * * * *",
            "Australia/Lord_Howe",
            "2026-04-05T01:00:00+11:00",
            3
        ),
        [
            "2026-04-05T01:45:00+11:00",
            "2026-04-05T01:45:00+10:30",
            "2026-04-05T02:45:00+10:30",
        ]
    );
}

#[test]
fn dst_rule_follows_the_minute_and_hour_fields() {
    let rule = |expr: &str| {
        Schedule::parse(expr)
            .expect("valid")
            .cron()
            .expect("a cron schedule")
            .dst_rule()
    };
    assert_eq!(rule("30 1 * * *"), DstRule::WallClock);
    assert_eq!(rule("0,30 1-3 * * *"), DstRule::WallClock);
    assert_eq!(rule("@daily"), DstRule::WallClock);
    assert_eq!(rule("0 * * * *"), DstRule::Elapsed);
    assert_eq!(rule("0 */2 * * *"), DstRule::Elapsed);
    assert_eq!(rule("0 1-23/2 * * *"), DstRule::Elapsed);
    assert_eq!(rule("*/5 1 * * *"), DstRule::Elapsed);
    assert_eq!(rule("@hourly"), DstRule::Elapsed);
}

#[test]
fn kolkata_has_a_half_hour_offset_and_no_dst() {
    assert_eq!(
        next("0 9 * * *", "Asia/Kolkata", "2026-03-08T00:00:00Z", 2),
        ["2026-03-08T09:00:00+05:30", "2026-03-09T09:00:00+05:30"]
    );
}

#[test]
fn macros_are_case_insensitive_and_expand_like_cron() {
    let cases = [
        ("@yearly", "2027-01-01T00:00:00+00:00"),
        ("@ANNUALLY", "2027-01-01T00:00:00+00:00"),
        ("@monthly", "2026-06-01T00:00:00+00:00"),
        ("@Weekly", "2026-05-17T00:00:00+00:00"),
        ("@daily", "2026-05-16T00:00:00+00:00"),
        ("@midnight", "2026-05-16T00:00:00+00:00"),
        ("@hourly", "2026-05-15T11:00:00+00:00"),
    ];
    for (expr, expected) in cases {
        let schedule = Schedule::parse(expr).expect("macros parse");
        assert_eq!(schedule.kind(), ScheduleKind::Macro, "{expr}");
        assert_eq!(
            next(expr, "UTC", "2026-05-15T10:20:00Z", 1),
            [expected],
            "{expr}"
        );
    }
    let reboot = Schedule::parse("@REBOOT").expect("@reboot parses");
    assert_eq!(reboot.kind(), ScheduleKind::Reboot);
    assert_eq!(reboot.next_after(at("2026-01-01T00:00:00Z"), Tz::UTC), None);
    assert_eq!(reboot.describe(), "Once, when the scheduler starts");
}

#[test]
fn rates_add_their_interval_in_elapsed_time() {
    let rate = Schedule::parse("rate(90 minutes)").expect("rate parses");
    assert_eq!(rate.kind(), ScheduleKind::Rate);
    assert_eq!(rate.interval(), Some(std::time::Duration::from_secs(5400)));
    assert_eq!(
        rate.describe(),
        "Every 90 minutes, starting when the scheduler starts"
    );
    // Elapsed time: across the fall-back change 01:30 EDT + 1h30 is 02:00 EST.
    assert_eq!(
        next(
            "rate(90 minutes)",
            "America/New_York",
            "2026-11-01T00:30:00-04:00",
            2
        ),
        ["2026-11-01T01:00:00-05:00", "2026-11-01T02:30:00-05:00"]
    );
    for (expr, secs) in [
        ("rate(1 minute)", 60),
        ("rate(1 minutes)", 60),
        ("rate(2 hour)", 7200),
        ("RATE( 3  Days )", 259_200),
        ("rate(45 seconds)", 45),
        ("rate(1 second)", 1),
    ] {
        let schedule = Schedule::parse(expr).expect("rate parses");
        assert_eq!(
            schedule.interval().map(|d| d.as_secs()),
            Some(secs),
            "{expr}"
        );
        assert_eq!(schedule.source(), expr);
    }
}

#[test]
fn rate_errors_say_what_is_accepted() {
    assert_eq!(
        error("rate(0 minutes)"),
        "rate: `0` is not a whole number of at least 1"
    );
    assert_eq!(
        error("rate(-5 minutes)"),
        "rate: `-5` is not a whole number of at least 1"
    );
    assert_eq!(
        error("rate(5 weeks)"),
        "rate: unknown unit `weeks` (expected second(s), minute(s), hour(s) or day(s))"
    );
    assert_eq!(
        error("rate(5minutes)"),
        "rate: expected `rate(N unit)` such as `rate(5 minutes)`, found `rate(5minutes)`"
    );
    assert_eq!(
        error("rate(5 minutes"),
        "rate: expected `rate(N unit)` such as `rate(5 minutes)`, found `rate(5 minutes`"
    );
    assert_eq!(
        error("rate(4000 days)"),
        "rate: `4000 days` is longer than the longest accepted interval, 3650 days"
    );
}

#[test]
fn cron_errors_name_the_field_the_token_and_the_accepted_values() {
    let cases = [
        ("60 * * * *", "minute: 60 is out of range 0-59"),
        ("* 24 * * *", "hour: 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("* * * 13 *", "month: 13 is out of range 1-12 or JAN-DEC"),
        (
            "* * * * 8",
            "day-of-week: 8 is out of range 0-7 or SUN-SAT, where 0 and 7 are Sunday",
        ),
        ("60 * * * * *", "second: 60 is out of range 0-59"),
        (
            "*/0 * * * *",
            "minute: the step in `*/0` must be a whole number from 1 to 59",
        ),
        (
            "*/-1 * * * *",
            "minute: the step in `*/-1` must be a whole number from 1 to 59",
        ),
        (
            "1,,2 * * * *",
            "minute: empty item in list `1,,2` (expected values separated by single commas)",
        ),
        (
            "1- * * * *",
            "minute: malformed range `1-` (expected START-END, such as `0-5`)",
        ),
        (
            "1-2-3 * * * *",
            "minute: malformed range `1-2-3` (expected START-END, such as `0-5`)",
        ),
        (
            "* 22-2 * * *",
            "hour: range `22-2` runs backwards (write the lower value first; to wrap around, \
             write `22-23,0-2`)",
        ),
        (
            "0 0 * * MON-SUN",
            "day-of-week: range `MON-SUN` runs backwards (write the lower value first; to wrap \
             around, write `1-7`)",
        ),
        (
            "0 0 * * SAT-TUE",
            "day-of-week: range `SAT-TUE` runs backwards (write the lower value first; to wrap \
             around, write `6-7,1-2`)",
        ),
        (
            "0 0 * * 7-1",
            "day-of-week: range `7-1` runs backwards (write the lower value first; to wrap \
             around, write `0-1`)",
        ),
        (
            "59-0 * * * *",
            "minute: range `59-0` runs backwards (write the lower value first; to wrap around, \
             write `59,0`)",
        ),
        (
            "* * * * FUNDAY",
            "day-of-week: unknown name `FUNDAY` (expected 0-7 or SUN-SAT, where 0 and 7 are \
             Sunday)",
        ),
        (
            "* * * JANUARY *",
            "month: unknown name `JANUARY` (expected 1-12 or JAN-DEC)",
        ),
        (
            "abc * * * *",
            "minute: `abc` is not a number (expected 0-59)",
        ),
        ("? * * * *", "minute: `?` is not a number (expected 0-59)"),
        (
            "* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a \
             leading second field, found 4 in `* * * *`",
        ),
        (
            "* * * * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a \
             leading second field, found 7 in `* * * * * * *`",
        ),
        (
            "@fortnightly",
            "unknown macro `@fortnightly` (expected one of @yearly, @annually, @monthly, \
             @weekly, @daily, @midnight, @hourly, @reboot)",
        ),
        (
            "   ",
            "the schedule is empty (expected a cron expression such as `*/5 * * * *`, a macro \
             such as `@daily`, or `rate(5 minutes)`)",
        ),
        (
            "0 0 30 2 *",
            "day-of-month: no month in `2` has a day `30`, so the schedule would never fire",
        ),
        (
            "0 0 31 4,jun *",
            "day-of-month: no month in `4,jun` has a day `31`, so the schedule would never fire",
        ),
    ];
    for (expr, message) in cases {
        assert_eq!(error(expr), message, "{expr}");
    }
}

#[test]
fn the_31st_of_a_short_month_is_fine_when_the_weekday_can_match_instead() {
    // Both day fields restricted: either may match, so Mondays in April still fire.
    assert_eq!(
        next("0 0 31 4 1", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-04-06T00:00:00+00:00"]
    );
}

#[test]
fn source_is_kept_exactly_as_written() {
    let schedule = Schedule::parse("  */5  * * * *  ").expect("extra spaces are fine");
    assert_eq!(schedule.source(), "  */5  * * * *  ");
    assert_eq!(schedule.kind(), ScheduleKind::Cron);
    assert_eq!(schedule.interval(), None);
}

#[test]
fn descriptions_are_plain_english() {
    let describe = |expr: &str| Schedule::parse(expr).expect("valid").describe();
    assert_eq!(
        describe("0 0 13 * 5"),
        "At 00:00 on day 13 of the month and on Friday"
    );
    assert_eq!(describe("@daily"), "At 00:00");
    assert_eq!(
        describe("*/15 9-17 * * MON-FRI"),
        "Every 15 minutes between 09:00 and 17:59 on Monday through Friday"
    );
    assert_eq!(
        describe("rate(1 hour)"),
        "Every hour, starting when the scheduler starts"
    );
}

#[test]
fn time_zones_resolve_job_then_flag_then_tz() {
    assert_eq!(
        resolve_timezone(Some("Asia/Kolkata"), Some("Europe/London")),
        Ok(Tz::Asia__Kolkata)
    );
    assert_eq!(
        resolve_timezone(None, Some("Europe/London")),
        Ok(Tz::Europe__London)
    );
    let unknown = parse_timezone("Europe/Londn").expect_err("misspelt zone");
    assert!(matches!(unknown, ScheduleError::UnknownTimeZone(_)));
    assert_eq!(
        unknown.to_string(),
        "unknown time zone `Europe/Londn` (expected an IANA name such as `UTC`, \
         `Europe/London` or `America/New_York`); did you mean `Europe/London`?"
    );
}

/// The common schedules of crontab guides, each with the English a reader expects; cronstrue's
/// wording is the yardstick ("Every hour", "At 09:00 on Monday through Friday").
#[test]
fn descriptions_of_common_schedules_read_like_cronstrue() {
    let cases = [
        ("* * * * *", "Every minute"),
        ("*/5 * * * *", "Every 5 minutes"),
        ("0 * * * *", "Every hour"),
        ("@hourly", "Every hour"),
        ("0 */2 * * *", "Every 2 hours"),
        ("0 9-17 * * *", "Every hour from 09:00 through 17:00"),
        ("30 */2 * * *", "At minute 30 past every 2nd hour"),
        ("15,45 * * * *", "At minutes 15 and 45 past every hour"),
        ("0 0 * * *", "At 00:00"),
        ("0 6,18 * * *", "At 06:00 and 18:00"),
        ("0 9 * * 1-5", "At 09:00 on Monday through Friday"),
        ("0 0 * * 1,3,5", "At 00:00 on Monday, Wednesday and Friday"),
        ("@weekly", "At 00:00 on Sunday"),
        ("@monthly", "At 00:00 on day 1 of the month"),
        ("@yearly", "At 00:00 on day 1 of the month in January"),
        ("0 4 8-14 * *", "At 04:00 on days 8 through 14 of the month"),
        (
            "0 0 1 */3 *",
            "At 00:00 on day 1 of the month in January, April, July and October",
        ),
        ("* 9 * * *", "Every minute between 09:00 and 09:59"),
        (
            "*/30 9-17 * * 1-5",
            "Every 30 minutes between 09:00 and 17:59 on Monday through Friday",
        ),
        ("1-30/7 * * * *", "Every 7 minutes from minute 1 through 30"),
        ("*/10 * * * * *", "Every 10 seconds"),
        ("0 30 9 * * 1", "At 09:30:00 on Monday"),
        (
            "0 0 */2 * 1",
            "At 00:00 on every 2nd day of the month, if it falls on Monday",
        ),
        (
            "0 0 1,15 * 3",
            "At 00:00 on days 1 and 15 of the month and on Wednesday",
        ),
        (
            "rate(5 minutes)",
            "Every 5 minutes, starting when the scheduler starts",
        ),
        ("@reboot", "Once, when the scheduler starts"),
    ];
    for (expr, text) in cases {
        let schedule = Schedule::parse(expr).expect("valid");
        assert_eq!(schedule.describe(), text, "{expr}");
    }
}
