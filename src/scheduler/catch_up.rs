//! `catchUp`: on start, a job whose latest due time within its window was missed while no
//! watcher ran fires once for that time (systemd's `Persistent=`, Kubernetes'
//! `startingDeadlineSeconds`). Only cron and macro schedules have due times on the wall
//! clock; `rate(...)` and `@reboot` have none to miss.
//!
//! A job with no recorded fire does not catch up: there is nothing to say it ever ran here,
//! so its first start records the start time as the baseline instead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::plan::PlannedJob;
use crate::schedule::{Schedule, ScheduleKind};
use crate::store::{RunStore, StoreError};

/// A fire owed on start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUpFire {
    pub job: usize,
    pub schedule: usize,
    pub due: DateTime<Utc>,
}

/// Whether the watcher keeps a record of `job`'s fires: it catches up, and it has due times.
pub fn tracked(job: &PlannedJob) -> bool {
    job.policies.catch_up.is_some()
        && job
            .schedules
            .iter()
            .any(|s| matches!(s.kind(), ScheduleKind::Cron | ScheduleKind::Macro))
}

/// The catch-ups owed to `jobs` at `now`, by what `fires` recorded. A tracked job without a
/// record gets `now` recorded as its baseline and no catch-up. With a shared store, every
/// watcher that starts works out the same owed fire; its claim lets one of them run it.
pub async fn owed(
    jobs: &[PlannedJob],
    fires: &dyn RunStore,
    now: DateTime<Utc>,
) -> Result<Vec<CatchUpFire>, StoreError> {
    let mut owed = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let Some(window) = job.policies.catch_up.filter(|_| tracked(job)) else {
            continue;
        };
        match fires.last_fire(&job.spec.name).await? {
            None => fires.record_fire(&job.spec.name, now).await?,
            Some(last) => {
                if let Some((schedule, due)) = missed_due(&job.schedules, job.tz, window, last, now)
                {
                    owed.push(CatchUpFire {
                        job: j,
                        schedule,
                        due,
                    });
                }
            }
        }
    }
    Ok(owed)
}

/// The catch-up owed on start: the latest due time of `schedules` in `(now − window, now]`
/// that is after `last` (the latest fire recorded), with the index of its schedule.
pub fn missed_due(
    schedules: &[Schedule],
    tz: Tz,
    window: Duration,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(usize, DateTime<Utc>)> {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let opens = now
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    // Both bounds exclude: a due time at `last` already fired, one at `opens` is too old.
    let after = opens.max(last);
    schedules
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.kind(), ScheduleKind::Cron | ScheduleKind::Macro))
        .filter_map(|(i, s)| latest_in(s, tz, after, now).map(|due| (i, due)))
        .max_by_key(|(_, due)| *due)
}

/// The latest due time of `schedule` in `(after, now]`. Looks back from `now` in doubling
/// steps, so that a schedule firing every second over a week-long window costs a few
/// evaluations rather than one per missed second.
fn latest_in(
    schedule: &Schedule,
    tz: Tz,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if after >= now {
        return None;
    }
    let next = |t: DateTime<Utc>| {
        schedule
            .next_after(t, tz)
            .map(|n| n.with_timezone(&Utc))
            .filter(|n| *n <= now)
    };
    let mut back = chrono::Duration::seconds(1);
    loop {
        let from = now.checked_sub_signed(back).map_or(after, |t| t.max(after));
        if let Some(mut latest) = next(from) {
            while let Some(later) = next(latest) {
                latest = later;
            }
            return Some(latest);
        }
        if from == after {
            return None;
        }
        back = back.checked_mul(2).unwrap_or(chrono::Duration::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn schedules(exprs: &[&str]) -> Vec<Schedule> {
        exprs
            .iter()
            .map(|e| Schedule::parse(e).expect("a schedule"))
            .collect()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn the_latest_missed_due_time_inside_the_window_fires_once() {
        let nightly = schedules(&["0 0 * * *"]);
        // Missed three midnights: one catch-up, for the latest.
        let due = missed_due(
            &nightly,
            Tz::UTC,
            HOUR * 24 * 7,
            at("2026-11-27T00:00:00Z"),
            at("2026-12-01T05:00:00Z"),
        );
        assert_eq!(due, Some((0, at("2026-12-01T00:00:00Z"))));
    }

    #[test]
    fn the_window_edges() {
        let nightly = schedules(&["0 0 * * *"]);
        let last = at("2026-11-29T00:00:00Z");
        let now = at("2026-12-01T06:00:00Z");
        let missed = |window| missed_due(&nightly, Tz::UTC, window, last, now);
        // Six hours after midnight: a 6 h window starts exactly at midnight and excludes it.
        assert_eq!(missed(HOUR * 6), None);
        assert_eq!(
            missed(HOUR * 6 + Duration::from_secs(1)),
            Some((0, at("2026-12-01T00:00:00Z")))
        );
        // A due time exactly now is inside; one a second later is not yet due.
        let on_time = missed_due(&nightly, Tz::UTC, HOUR, last, at("2026-12-01T00:00:00Z"));
        assert_eq!(on_time, Some((0, at("2026-12-01T00:00:00Z"))));
        let early = missed_due(&nightly, Tz::UTC, HOUR, last, at("2026-11-30T23:59:59Z"));
        assert_eq!(early, None);
    }

    #[test]
    fn a_due_time_already_recorded_is_not_caught_up_again() {
        let nightly = schedules(&["0 0 * * *"]);
        let now = at("2026-12-01T06:00:00Z");
        let recorded = at("2026-12-01T00:00:00Z");
        assert_eq!(
            missed_due(&nightly, Tz::UTC, HOUR * 24, recorded, now),
            None
        );
    }

    #[test]
    fn the_latest_of_several_schedules_wins_and_rates_are_ignored() {
        let mixed = schedules(&["rate(1 minute)", "0 0 * * *", "0 3 * * *", "@reboot"]);
        let due = missed_due(
            &mixed,
            Tz::UTC,
            HOUR * 24,
            at("2026-11-30T00:00:00Z"),
            at("2026-12-01T05:00:00Z"),
        );
        assert_eq!(due, Some((2, at("2026-12-01T03:00:00Z"))));
        let rate_only = schedules(&["rate(1 minute)"]);
        let last = at("2026-11-30T00:00:00Z");
        let now = at("2026-12-01T05:00:00Z");
        assert_eq!(missed_due(&rate_only, Tz::UTC, HOUR, last, now), None);
    }

    #[test]
    fn due_times_follow_the_jobs_time_zone() {
        let nine_in_new_york = schedules(&["0 9 * * *"]);
        let tz: Tz = "America/New_York".parse().expect("a zone");
        let due = missed_due(
            &nine_in_new_york,
            tz,
            HOUR * 24,
            at("2026-11-30T00:00:00Z"),
            at("2026-12-01T15:00:00Z"),
        );
        assert_eq!(due, Some((0, at("2026-12-01T14:00:00Z"))));
    }

    #[test]
    fn a_frequent_schedule_over_a_long_window_is_cheap_and_exact() {
        let every_second = schedules(&["* * * * * *"]);
        let due = missed_due(
            &every_second,
            Tz::UTC,
            HOUR * 24 * 30,
            at("2026-11-01T00:00:00Z"),
            at("2026-12-01T05:00:00.500Z"),
        );
        assert_eq!(due, Some((0, at("2026-12-01T05:00:00Z"))));
    }
}
