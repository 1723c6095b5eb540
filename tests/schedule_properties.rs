//! Property tests of the next-time search against a brute-force oracle that checks every
//! minute (or second) of a bounded window with the documented rules, in UTC and in zones with
//! daylight saving: every result fires, results strictly increase, and nothing that fires in
//! the window is missing.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use webstir::schedule::{Cron, DstRule, Schedule};

/// Daylight-saving changes (UTC) in both directions, with 30-minute ones on Lord Howe.
const CHANGES: [(&str, i64); 6] = [
    ("America/New_York", 1_772_953_200), // 2026-03-08T07:00Z, spring forward
    ("America/New_York", 1_793_512_800), // 2026-11-01T06:00Z, fall back
    ("Australia/Lord_Howe", 1_775_314_800), // 2026-04-04T15:00Z, fall back 30 min
    ("Australia/Lord_Howe", 1_791_041_400), // 2026-10-03T15:30Z, spring forward 30 min
    ("Europe/London", 1_774_746_000),    // 2026-03-29T01:00Z, spring forward
    ("Europe/London", 1_792_890_000),    // 2026-10-25T01:00Z, fall back
];

fn local(tz: Tz, t: i64) -> NaiveDateTime {
    tz.timestamp_opt(t, 0)
        .single()
        .expect("every instant has one local time")
        .naive_local()
}

fn offset(tz: Tz, t: i64) -> i32 {
    tz.timestamp_opt(t, 0)
        .single()
        .expect("every instant has one local time")
        .offset()
        .fix()
        .local_minus_utc()
}

/// Whether the schedule fires at instant `t`, straight from the rules in docs/schedules.md.
fn fires_at(cron: &Cron, tz: Tz, t: i64) -> bool {
    let now = local(tz, t);
    match cron.dst_rule() {
        DstRule::Elapsed => cron.matches(now),
        DstRule::WallClock => {
            let first_occurrence = tz
                .from_local_datetime(&now)
                .earliest()
                .is_some_and(|first| first.timestamp() == t);
            if cron.matches(now) && first_occurrence {
                return true;
            }
            // The first instant after a spring-forward gap also fires for the skipped times.
            let gap = i64::from(offset(tz, t) - offset(tz, t - 1));
            gap > 0 && (1..=gap).any(|back| cron.matches(now - Duration::seconds(back)))
        }
    }
}

fn item(lo: u8, hi: u8) -> impl Strategy<Value = String> {
    let step = 1..=(hi / 2).max(1);
    prop_oneof![
        3 => Just("*".to_owned()),
        3 => (lo..=hi).prop_map(|v| v.to_string()),
        2 => (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        2 => step.clone().prop_map(|s| format!("*/{s}")),
        1 => (lo..=hi, lo..=hi, step.clone())
            .prop_map(|(a, b, s)| format!("{}-{}/{s}", a.min(b), a.max(b))),
        1 => (lo..=hi, step).prop_map(|(a, s)| format!("{a}/{s}")),
    ]
}

fn field(lo: u8, hi: u8) -> impl Strategy<Value = String> {
    prop::collection::vec(item(lo, hi), 1..=3).prop_map(|items| items.join(","))
}

fn five_fields() -> impl Strategy<Value = String> {
    (
        field(0, 59),
        field(0, 23),
        field(1, 31),
        field(1, 12),
        field(0, 7),
    )
        .prop_map(|(m, h, dom, mon, dow)| format!("{m} {h} {dom} {mon} {dow}"))
}

/// A zone with daylight saving and a start up to `hours` before one of its changes.
fn near_change(hours: i64) -> impl Strategy<Value = (Tz, i64)> {
    (0..CHANGES.len(), 0..hours * 3600).prop_map(|(i, back)| {
        let (name, at) = CHANGES[i];
        (name.parse::<Tz>().expect("known zone"), at - back)
    })
}

/// Values and ranges only: a field that names wall-clock times.
fn fixed_field(lo: u8, hi: u8) -> impl Strategy<Value = String> {
    let item = prop_oneof![
        (lo..=hi).prop_map(|v| v.to_string()),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
    ];
    prop::collection::vec(item, 1..=3).prop_map(|items| items.join(","))
}

fn mostly_every(lo: u8, hi: u8) -> impl Strategy<Value = String> {
    prop_oneof![3 => Just("*".to_owned()), 1 => field(lo, hi)]
}

/// Schedules whose hours cluster around the small hours, where the changes happen, half of
/// them with fixed wall-clock times.
fn small_hours() -> impl Strategy<Value = String> {
    let minute = prop_oneof![field(0, 59), fixed_field(0, 59)];
    let hour = prop_oneof![field(0, 4), fixed_field(0, 4)];
    (
        minute,
        hour,
        mostly_every(1, 31),
        mostly_every(1, 12),
        mostly_every(0, 7),
    )
        .prop_map(|(m, h, dom, mon, dow)| format!("{m} {h} {dom} {mon} {dow}"))
}

fn zone_and_start() -> impl Strategy<Value = (Tz, i64)> {
    prop_oneof![
        near_change(36),
        (1_704_067_200..1_893_456_000i64).prop_map(|t| (Tz::UTC, t)),
        (1_704_067_200..1_893_456_000i64).prop_map(|t| (Tz::America__New_York, t)),
    ]
}

/// Checks the properties over `[start, start + window]`, stepping by `resolution` seconds.
fn check(
    expr: &str,
    tz: Tz,
    start: i64,
    window: i64,
    resolution: i64,
) -> Result<(), TestCaseError> {
    let schedule = match Schedule::parse(expr) {
        Ok(schedule) => schedule,
        Err(_) => return Err(TestCaseError::reject("never fires")),
    };
    let cron = schedule.cron().expect("a cron schedule");
    let after = DateTime::<Utc>::from_timestamp(start, 0).expect("valid start");
    let results: Vec<i64> = schedule
        .upcoming(after, tz)
        .take(8)
        .map(|at| at.timestamp())
        .collect();
    prop_assert_eq!(results.len(), 8, "every accepted schedule keeps firing");
    let mut previous = start;
    for &t in &results {
        prop_assert!(t > previous, "{expr}: {t} does not come after {previous}");
        prop_assert!(fires_at(cron, tz, t), "{expr}: returned {t} does not fire");
        previous = t;
    }
    let end = (start + window).min(results[7]);
    let first = start - start.rem_euclid(resolution) + resolution;
    let expected: Vec<i64> = (first..=end)
        .step_by(resolution as usize)
        .filter(|&t| fires_at(cron, tz, t))
        .collect();
    let returned: Vec<i64> = results.into_iter().filter(|&t| t <= end).collect();
    prop_assert_eq!(returned, expected, "{} in {}", expr, tz.name());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn five_field_results_fire_increase_and_miss_nothing(
        expr in five_fields(),
        (tz, start) in zone_and_start(),
    ) {
        check(&expr, tz, start, 3 * 86_400, 60)?;
    }

    #[test]
    fn six_field_results_fire_increase_and_miss_nothing(
        seconds in field(0, 59),
        expr in five_fields(),
        (tz, start) in zone_and_start(),
    ) {
        check(&format!("{seconds} {expr}"), tz, start, 3 * 3600, 1)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn results_around_dst_changes_fire_increase_and_miss_nothing(
        expr in small_hours(),
        (tz, start) in near_change(4),
    ) {
        check(&expr, tz, start, 2 * 86_400, 60)?;
    }
}

#[test]
fn the_oracle_itself_knows_the_documented_examples() {
    let ny = Tz::America__New_York;
    let cron = |expr: &str| {
        Schedule::parse(expr)
            .expect("valid")
            .cron()
            .cloned()
            .expect("cron")
    };
    let at = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .timestamp()
    };
    assert!(fires_at(
        &cron("30 2 * * *"),
        ny,
        at("2026-03-08T03:00:00-04:00")
    ));
    assert!(!fires_at(
        &cron("30 2 * * *"),
        ny,
        at("2026-03-08T03:30:00-04:00")
    ));
    assert!(fires_at(
        &cron("30 1 * * *"),
        ny,
        at("2026-11-01T01:30:00-04:00")
    ));
    assert!(!fires_at(
        &cron("30 1 * * *"),
        ny,
        at("2026-11-01T01:30:00-05:00")
    ));
    assert!(fires_at(
        &cron("0 * * * *"),
        ny,
        at("2026-11-01T01:00:00-05:00")
    ));
}
