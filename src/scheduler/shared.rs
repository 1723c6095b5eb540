//! Watching with a store that several watchers share (PostgreSQL): each due fire is claimed
//! in the store before it runs, so that it runs on exactly one watcher; a heartbeat keeps this
//! watcher's runs alive there and marks the runs of dead watchers lost; and rate schedules are
//! anchored to the Unix epoch so that every watcher computes the same due times.
//!
//! While the store cannot be reached a fire cannot be claimed, and running it anyway could run
//! it twice; so it is skipped, with a line saying why. The outage is logged once when it
//! starts and once when it ends; the pool reconnects by itself.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::fire::Fire;
use super::log::{Log, RunLabel};
use crate::store::{Owner, RunStore, StoreError};

/// How often this watcher says it is alive.
pub const HEARTBEAT_PERIOD: Duration = Duration::from_secs(3);

/// How long a watcher may stay silent before its running runs are marked lost: three missed
/// heartbeats, so that one slow round trip does not lose anything.
pub const LEASE: Duration = Duration::from_secs(3 * HEARTBEAT_PERIOD.as_secs());

/// The shared store, this watcher's name in it, and whether it is currently unreachable.
#[derive(Debug)]
pub struct Shared {
    store: Arc<dyn RunStore>,
    owner: Owner,
    log: Log,
    /// When the current outage began; `None` while the store answers.
    down_since: Mutex<Option<Instant>>,
}

impl Shared {
    pub fn new(store: Arc<dyn RunStore>, log: Log) -> Shared {
        Shared {
            store,
            owner: Owner::this_process(),
            log,
            down_since: Mutex::new(None),
        }
    }

    /// Takes `fire` of `label`'s job for this watcher: true when it is to run here. A fire
    /// claimed by another watcher, or one that cannot be claimed, is logged and not run.
    pub async fn claim(&self, label: &RunLabel, fire: &Fire) -> bool {
        match self.store.claim(&label.job, fire.due, &self.owner).await {
            Ok(true) => {
                self.answered();
                true
            }
            Ok(false) => {
                self.answered();
                let by = self
                    .store
                    .claimed_by(&label.job, fire.due)
                    .await
                    .ok()
                    .flatten();
                self.log
                    .claimed_elsewhere(label, fire, by.map(|o| o.to_string()).as_deref());
                false
            }
            Err(error) => {
                self.failed(&error);
                self.log.not_claimed(label, fire);
                false
            }
        }
    }

    /// Records `job`'s fire for catch-up; a failure counts toward the outage.
    pub async fn record_fire(&self, job: &str, due: DateTime<Utc>) {
        match self.store.record_fire(job, due).await {
            Ok(()) => self.answered(),
            Err(error) => self.failed(&error),
        }
    }

    /// Sends a heartbeat every [`HEARTBEAT_PERIOD`] until dropped (abort the task).
    pub async fn heartbeat_forever(self: Arc<Self>) {
        let mut tick = tokio::time::interval(HEARTBEAT_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.store.heartbeat(&self.owner, LEASE).await {
                Ok(lost) => {
                    self.answered();
                    if lost > 0 {
                        self.log.runs_lost(lost);
                    }
                }
                Err(error) => self.failed(&error),
            }
        }
    }

    fn failed(&self, error: &StoreError) {
        let mut down = self.lock();
        if down.is_none() {
            *down = Some(Instant::now());
            self.log.store_down(&self.store.location(), &cause(error));
        }
    }

    fn answered(&self) {
        let since = self.lock().take();
        if let Some(since) = since {
            self.log.store_back(&self.store.location(), since.elapsed());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.down_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The error without the start-up advice: mid-run, the cause is what matters.
fn cause(error: &StoreError) -> String {
    match error {
        StoreError::Unreachable { cause, .. } | StoreError::Remote { cause, .. } => cause.clone(),
        other => other.to_string(),
    }
}

/// The first due time of a rate of `interval` strictly after `after`, counting whole
/// intervals from the Unix epoch: every watcher that shares a store computes the same times
/// (`rate(1 second)` fires at each whole second, `rate(1 hour)` on the hour, UTC).
pub fn anchored_after(interval: Duration, after: DateTime<Utc>) -> DateTime<Utc> {
    let step = i128::try_from(interval.as_nanos())
        .unwrap_or(i128::MAX)
        .max(1);
    let t =
        i128::from(after.timestamp()) * 1_000_000_000 + i128::from(after.timestamp_subsec_nanos());
    let next = (t.div_euclid(step) + 1) * step;
    let secs = i64::try_from(next.div_euclid(1_000_000_000)).unwrap_or(i64::MAX);
    let nanos = u32::try_from(next.rem_euclid(1_000_000_000)).unwrap_or(0);
    DateTime::from_timestamp(secs, nanos).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn rates_fall_on_whole_intervals_since_the_epoch() {
        let second = Duration::from_secs(1);
        assert_eq!(
            anchored_after(second, at("2026-12-01T06:00:00.300Z")),
            at("2026-12-01T06:00:01Z")
        );
        // Strictly after: a due time that just fired is not due again.
        assert_eq!(
            anchored_after(second, at("2026-12-01T06:00:01Z")),
            at("2026-12-01T06:00:02Z")
        );
        assert_eq!(
            anchored_after(Duration::from_secs(3600), at("2026-12-01T06:59:59Z")),
            at("2026-12-01T07:00:00Z")
        );
        // 7 minutes does not divide an hour: the epoch, not the hour, is the anchor.
        let seven = anchored_after(Duration::from_secs(420), at("2026-12-01T06:00:00Z"));
        assert_eq!(seven.timestamp() % 420, 0);
        assert!(seven > at("2026-12-01T06:00:00Z"));
        assert!(seven <= at("2026-12-01T06:07:00Z"));
    }
}
