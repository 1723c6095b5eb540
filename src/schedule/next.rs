//! Fire times of a cron expression in a time zone, with the daylight-saving rules of
//! `docs/schedules.md`: the cron expression works on wall-clock times, this module turns them
//! into instants.

use chrono::offset::LocalResult;
use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::cron::{Cron, DstRule};

/// Wider than any UTC offset, so a search window of this size around a wall-clock time always
/// holds the instant that shows it.
const OFFSET_BOUND_SECS: i64 = 26 * 3600;

/// The first fire time of `cron` strictly after `after`, evaluated in `tz`.
pub fn next_after(cron: &Cron, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
    let local = after.with_timezone(&tz).naive_local();
    if tz == Tz::UTC {
        let next = cron.next_local_after(local)?;
        return Some(tz.from_utc_datetime(&next));
    }
    match cron.dst_rule() {
        DstRule::WallClock => wall_clock_next(cron, after, tz, local),
        DstRule::Elapsed => elapsed_next(cron, after, tz, local),
    }
}

/// Fixed minute and hour: each matching wall-clock time fires once, at its first occurrence,
/// or at the end of the gap when a spring-forward change skips it.
fn wall_clock_next(
    cron: &Cron,
    after: DateTime<Utc>,
    tz: Tz,
    local: NaiveDateTime,
) -> Option<DateTime<Tz>> {
    let mut cursor = local;
    loop {
        let next = cron.next_local_after(cursor)?;
        let fire = match tz.from_local_datetime(&next) {
            LocalResult::Single(at) => at,
            LocalResult::Ambiguous(first, _) => first,
            LocalResult::None => gap_end(tz, next)?,
        };
        // Inside the second copy of a repeated hour, the first copies have already passed.
        if fire.with_timezone(&Utc) > after {
            return Some(fire);
        }
        cursor = next;
    }
}

/// `*` or stepped minute or hour: fire at every instant whose local time matches, through
/// both copies of a repeated hour; wall-clock times inside a gap never happen.
fn elapsed_next(
    cron: &Cron,
    after: DateTime<Utc>,
    tz: Tz,
    local: NaiveDateTime,
) -> Option<DateTime<Tz>> {
    let mut cursor = local;
    if let Some(fold) = Fold::entered_at(tz, after, local) {
        // Matches later in this first copy come first, then the second copy replays the
        // repeated wall-clock times, and only then does the clock move past them.
        let next = cron.next_local_after(local)?;
        if next < fold.end_local {
            return Some(fold.in_first_copy(tz, next));
        }
        if let Some(replay) = cron.next_local_after(fold.start_local - Duration::seconds(1))
            && replay < fold.end_local
        {
            return Some(fold.in_second_copy(tz, replay));
        }
        cursor = fold.end_local - Duration::seconds(1);
    }
    loop {
        let next = cron.next_local_after(cursor)?;
        match tz.from_local_datetime(&next) {
            LocalResult::Single(at) => {
                if at.with_timezone(&Utc) > after {
                    return Some(at);
                }
                cursor = next;
            }
            LocalResult::Ambiguous(first, second) => {
                if first.with_timezone(&Utc) > after {
                    return Some(first);
                }
                if second.with_timezone(&Utc) > after {
                    return Some(second);
                }
                cursor = next;
            }
            LocalResult::None => {
                // Jump over the whole gap at once instead of testing each skipped time.
                let end = gap_end(tz, next)?;
                cursor = end.naive_local() - Duration::seconds(1);
            }
        }
    }
}

/// A repeated stretch of wall-clock time (a fall-back change) whose first copy holds `after`.
struct Fold {
    /// First wall-clock time that repeats.
    start_local: NaiveDateTime,
    /// First wall-clock time after the repeated stretch.
    end_local: NaiveDateTime,
    first_offset: i64,
    second_offset: i64,
}

impl Fold {
    fn entered_at(tz: Tz, after: DateTime<Utc>, local: NaiveDateTime) -> Option<Fold> {
        let LocalResult::Ambiguous(first, second) = tz.from_local_datetime(&local) else {
            return None;
        };
        let first_offset = i64::from(first.offset().fix().local_minus_utc());
        let second_offset = i64::from(second.offset().fix().local_minus_utc());
        let after_offset = i64::from(after.with_timezone(&tz).offset().fix().local_minus_utc());
        if after_offset != first_offset {
            return None;
        }
        // The change happens at the first instant after `after` that no longer has the first
        // offset; it lies no later than the second copy of `local`.
        let change = first_instant(after.timestamp() + 1, second.timestamp(), |t| {
            offset_at(tz, t) != first_offset
        })?;
        Some(Fold {
            start_local: naive_at(change + second_offset)?,
            end_local: naive_at(change + first_offset)?,
            first_offset,
            second_offset,
        })
    }

    fn in_first_copy(&self, tz: Tz, local: NaiveDateTime) -> DateTime<Tz> {
        tz.from_utc_datetime(&(local - Duration::seconds(self.first_offset)))
    }

    fn in_second_copy(&self, tz: Tz, local: NaiveDateTime) -> DateTime<Tz> {
        tz.from_utc_datetime(&(local - Duration::seconds(self.second_offset)))
    }
}

/// The first instant after the spring-forward gap that swallows the wall-clock time `local`.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    let guess = local.and_utc().timestamp();
    let shown_at_or_after = |t: i64| {
        tz.timestamp_opt(t, 0)
            .single()
            .is_some_and(|at| at.naive_local() >= local)
    };
    let t = first_instant(
        guess - OFFSET_BOUND_SECS,
        guess + OFFSET_BOUND_SECS,
        shown_at_or_after,
    )?;
    tz.timestamp_opt(t, 0).single()
}

/// Binary search for the first second in `lo..=hi` where `pred` turns true (it must stay true
/// from there on within the range).
fn first_instant(mut lo: i64, mut hi: i64, pred: impl Fn(i64) -> bool) -> Option<i64> {
    if lo > hi || !pred(hi) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

fn offset_at(tz: Tz, timestamp: i64) -> i64 {
    tz.timestamp_opt(timestamp, 0)
        .single()
        .map_or(0, |at| i64::from(at.offset().fix().local_minus_utc()))
}

fn naive_at(local_seconds: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(local_seconds, 0).map(|at| at.naive_utc())
}
