//! `jitter`: each scheduled fire waits a random time from zero up to the job's jitter before
//! it starts (systemd's `RandomizedDelaySec`), so that many jobs, or many replicas of one
//! watcher, due at the same instant do not all start at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A random delay in `[0, max]`.
pub fn random_delay(max: Option<Duration>) -> Duration {
    match max {
        Some(max) if !max.is_zero() => scale(max, random_u64()),
        _ => Duration::ZERO,
    }
}

/// Maps a uniformly random `sample` onto `[0, max]`, evenly to the nanosecond.
pub fn scale(max: Duration, sample: u64) -> Duration {
    let span = max.as_nanos().saturating_add(1);
    let nanos = (u128::from(sample) * span) >> 64;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A random number, good enough to spread start times (not for secrets): the standard
/// library's randomly keyed SipHash over a counter, so no extra crate is needed.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_spans_zero_to_the_maximum_and_no_further() {
        let max = Duration::from_secs(30);
        assert_eq!(scale(max, 0), Duration::ZERO);
        assert_eq!(scale(max, u64::MAX), max);
        assert_eq!(scale(max, u64::MAX / 2), Duration::from_secs(15));
        assert_eq!(random_delay(None), Duration::ZERO);
    }

    #[test]
    fn random_delays_stay_in_bounds_and_spread_out() {
        let max = Duration::from_secs(10);
        let delays: Vec<Duration> = (0..2_000).map(|_| random_delay(Some(max))).collect();
        assert!(delays.iter().all(|d| *d <= max));
        // Each tenth of the range gets some of 2,000 uniform draws (failing by chance is far
        // less likely than one in a billion).
        for tenth in 0..10u32 {
            let low = max * tenth / 10;
            let high = max * (tenth + 1) / 10;
            assert!(
                delays.iter().any(|d| *d >= low && *d < high),
                "nothing in tenth {tenth}"
            );
        }
    }
}
