//! The `overlap` policy: what the watcher does with a fire of a job whose previous run is
//! still going, and the bookkeeping it needs: each run's own stop switch (so `replace` stops
//! one job's run and nothing else) and at most one waiting fire per job.

use std::collections::HashMap;

use tokio::sync::watch;
use tokio::task;

use crate::manifest::policy::Overlap;
use crate::runner::StopRequest;

/// What to do with a fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start a run now.
    Start,
    /// Drop the fire (`skip`).
    Skip,
    /// Keep the fire and start it when the active run ends (`queue`).
    Queue,
    /// Drop the fire: one is already waiting (`queue` keeps at most one).
    QueueFull,
    /// Stop the active run and start this fire when it has ended (`replace`).
    Replace,
}

/// The decision for a fire of a job with `active` runs going and possibly one `queued`.
pub fn decide(policy: Overlap, active: usize, queued: bool) -> Decision {
    if active == 0 {
        return Decision::Start;
    }
    match policy {
        Overlap::Skip => Decision::Skip,
        Overlap::Allow => Decision::Start,
        Overlap::Queue if queued => Decision::QueueFull,
        Overlap::Queue => Decision::Queue,
        Overlap::Replace => Decision::Replace,
    }
}

/// One active run: its job and its stop switch.
#[derive(Debug)]
struct Slot {
    job: usize,
    stop: watch::Sender<StopRequest>,
}

/// The watcher's active runs, keyed by their task (so that a task that panicked frees its job
/// too), and the fire waiting behind each job's run.
#[derive(Debug)]
pub struct Runs<P> {
    slots: HashMap<task::Id, Slot>,
    waiting: HashMap<usize, P>,
}

impl<P> Default for Runs<P> {
    fn default() -> Self {
        Runs {
            slots: HashMap::new(),
            waiting: HashMap::new(),
        }
    }
}

impl<P> Runs<P> {
    /// A stop switch for a run about to start; hand the sender to [`Runs::started`].
    pub fn switch() -> (watch::Sender<StopRequest>, watch::Receiver<StopRequest>) {
        watch::channel(StopRequest::None)
    }

    pub fn started(&mut self, id: task::Id, job: usize, stop: watch::Sender<StopRequest>) {
        self.slots.insert(id, Slot { job, stop });
    }

    /// Forgets a finished run; returns its job.
    pub fn finished(&mut self, id: task::Id) -> Option<usize> {
        self.slots.remove(&id).map(|slot| slot.job)
    }

    pub fn active(&self, job: usize) -> usize {
        self.slots.values().filter(|s| s.job == job).count()
    }

    pub fn is_waiting(&self, job: usize) -> bool {
        self.waiting.contains_key(&job)
    }

    /// Keeps `fire` to start once `job` has no active run; replaces a fire already waiting.
    pub fn wait(&mut self, job: usize, fire: P) {
        self.waiting.insert(job, fire);
    }

    /// The fire waiting for `job`, once `job` has no active run left.
    pub fn take_ready(&mut self, job: usize) -> Option<P> {
        if self.active(job) == 0 {
            self.waiting.remove(&job)
        } else {
            None
        }
    }

    /// Moves every run and waiting fire to its job's index in a re-read plan (`renumber` of
    /// the old index). A removed job's runs go on without a job to block; its waiting fire is
    /// dropped.
    pub fn renumber(&mut self, renumber: impl Fn(usize) -> Option<usize>) {
        for slot in self.slots.values_mut() {
            slot.job = renumber(slot.job).unwrap_or(usize::MAX);
        }
        self.waiting = std::mem::take(&mut self.waiting)
            .into_iter()
            .filter_map(|(job, fire)| renumber(job).map(|j| (j, fire)))
            .collect();
    }

    /// Asks every active run of `job` to stop.
    pub fn stop_job(&self, job: usize, request: StopRequest) {
        for slot in self.slots.values().filter(|s| s.job == job) {
            raise(&slot.stop, request);
        }
    }

    /// Asks every active run to stop and drops the waiting fires.
    pub fn stop_all(&mut self, request: StopRequest) {
        self.waiting.clear();
        for slot in self.slots.values() {
            raise(&slot.stop, request);
        }
    }
}

/// Raises a run's stop request to `request`; a request never goes back down (a replaced run
/// that is then killed at shutdown stays killed).
fn raise(stop: &watch::Sender<StopRequest>, request: StopRequest) {
    stop.send_if_modified(|current| {
        let raised = request > *current;
        if raised {
            *current = request;
        }
        raised
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_job_always_starts() {
        for policy in [
            Overlap::Skip,
            Overlap::Allow,
            Overlap::Queue,
            Overlap::Replace,
        ] {
            assert_eq!(decide(policy, 0, false), Decision::Start, "{policy}");
        }
    }

    #[test]
    fn a_busy_job_follows_its_policy() {
        assert_eq!(decide(Overlap::Skip, 1, false), Decision::Skip);
        assert_eq!(decide(Overlap::Allow, 3, false), Decision::Start);
        assert_eq!(decide(Overlap::Queue, 1, false), Decision::Queue);
        assert_eq!(decide(Overlap::Queue, 1, true), Decision::QueueFull);
        assert_eq!(decide(Overlap::Replace, 1, true), Decision::Replace);
    }

    #[test]
    fn stopping_one_job_leaves_the_others_running() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut runs: Runs<()> = Runs::default();
            let a = tokio::spawn(async {});
            let b = tokio::spawn(async {});
            let (tx_a, rx_a) = Runs::<()>::switch();
            let (tx_b, rx_b) = Runs::<()>::switch();
            runs.started(a.id(), 0, tx_a);
            runs.started(b.id(), 1, tx_b);
            runs.wait(0, ());
            assert_eq!(runs.take_ready(0), None, "job 0 is still active");
            runs.stop_job(0, StopRequest::Graceful);
            assert_eq!(*rx_a.borrow(), StopRequest::Graceful);
            assert_eq!(*rx_b.borrow(), StopRequest::None);
            assert_eq!(runs.finished(a.id()), Some(0));
            assert_eq!(runs.take_ready(0), Some(()));
            runs.stop_all(StopRequest::Immediate);
            assert_eq!(*rx_b.borrow(), StopRequest::Immediate);
        });
    }
}
