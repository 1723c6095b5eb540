//! `--watch`: a timer queue over every schedule of the watched jobs. The loop sleeps until the
//! earliest due time (no polling; a wall-clock alarm re-aims it when the system clock is set), starts due jobs without waiting for them, skips a job that
//! is still running when it is due again, and on SIGINT/SIGTERM stops scheduling, stops the
//! running jobs (SIGTERM, grace period, SIGKILL) and returns.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::{self, JoinSet};
use tokio::time::Instant;

use super::Summary;
use super::engine::{Engine, JobOutcome};
use super::log::Log;
use super::plan::PlannedJob;
use super::reload::{self, Diff, Reloader};
use super::signals::Signals;
use super::wall_alarm::WallAlarm;
use crate::runner::StopRequest;
use crate::schedule::ScheduleKind;

/// One pending fire of one schedule of one job.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    /// Tie-breaker keeping equal due times in manifest order.
    seq: u64,
    job: usize,
    schedule: usize,
    /// The wall-clock fire time of a cron or macro schedule.
    wall: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,
}

impl Queue {
    fn push(&mut self, at: Instant, job: usize, schedule: usize, wall: Option<DateTime<Utc>>) {
        self.seq += 1;
        self.heap.push(Reverse(Due {
            at,
            seq: self.seq,
            job,
            schedule,
            wall,
        }));
    }

    /// The earliest wall-clock fire time of a cron or macro entry.
    fn earliest_wall(&self) -> Option<DateTime<Utc>> {
        self.heap.iter().filter_map(|Reverse(due)| due.wall).min()
    }

    /// Re-derives the monotonic due time of wall-clock entries from the current clock.
    fn reaim(&mut self) {
        let entries: Vec<Due> = std::mem::take(&mut self.heap)
            .into_iter()
            .map(|Reverse(mut due)| {
                if let Some(wall) = due.wall {
                    due.at = instant_for(wall);
                }
                due
            })
            .collect();
        self.heap = entries.into_iter().map(Reverse).collect();
    }
}

/// The jobs that have a schedule; each one left out gets a note saying so.
pub fn scheduled_only(jobs: Vec<PlannedJob>, log: &Log) -> Vec<PlannedJob> {
    let (scheduled, manual): (Vec<_>, Vec<_>) =
        jobs.into_iter().partition(|job| !job.schedules.is_empty());
    for job in &manual {
        let name = &job.spec.name;
        log.notice(
            "not-scheduled",
            Some(name),
            &format!("{name} has no schedule and is not watched; run it with --job {name}"),
        );
    }
    scheduled
}

/// Runs the watcher until a signal arrives or, when every schedule is `@reboot`, until those
/// runs are done. `alarm` wakes it at cron and macro times and when the system clock is set.
pub async fn watch(
    engine: Arc<Engine>,
    jobs: Vec<PlannedJob>,
    alarm: WallAlarm,
    signals: &mut Signals,
    stop: &watch::Sender<StopRequest>,
    mut reloader: Option<Reloader>,
) -> Summary {
    // Replaced whole at a reload; runs in progress keep the plan they started with.
    let mut jobs: Arc<Vec<PlannedJob>> = Arc::new(jobs);
    let names: Vec<&str> = jobs.iter().map(|j| j.spec.name.as_str()).collect();
    engine.log.watching(&names);

    let reboot_only = jobs
        .iter()
        .flat_map(|j| &j.schedules)
        .all(|s| s.kind() == ScheduleKind::Reboot);
    let mut queue = Queue::default();
    let start = Instant::now();
    for (j, job) in jobs.iter().enumerate() {
        for (s, schedule) in job.schedules.iter().enumerate() {
            match schedule.kind() {
                ScheduleKind::Reboot | ScheduleKind::Rate => queue.push(start, j, s, None),
                ScheduleKind::Cron | ScheduleKind::Macro => {
                    arm_wall(&mut queue, job, j, s, Utc::now(), &engine)
                }
            }
        }
    }

    let mut summary = Summary::default();
    // The job each run task is running; keyed by task so that a task that panicked frees its
    // job too, rather than leaving it skipped as overlapping forever.
    let mut running: HashMap<task::Id, usize> = HashMap::new();
    let mut tasks: JoinSet<JobOutcome> = JoinSet::new();
    // Said once: the watcher still works without the alarm, only less well.
    let mut alarm_failed = false;
    loop {
        if reboot_only && queue.heap.is_empty() && tasks.is_empty() {
            engine.log.reboot_done();
            return summary;
        }
        // The monotonic sleep is exact while the clock runs normally; the alarm covers a clock
        // that is set or a machine that was suspended. Either wakes at most a timer tick late,
        // a millisecond, well within the 20 ms the watcher promises.
        let next = queue.heap.peek().map(|Reverse(due)| due.at);
        if let Err(error) = alarm.set(queue.earliest_wall())
            && !alarm_failed
        {
            alarm_failed = true;
            engine.log.notice(
                "clock",
                None,
                &format!("could not set the wall-clock alarm ({error}); cron times follow the monotonic clock"),
            );
        }
        let due = async {
            tokio::select! {
                () = sleep_until(next) => {}
                () = alarm.wait() => {}
            }
        };
        tokio::select! {
            () = due => {
                queue.reaim();
                let mut started_now: BTreeSet<usize> = BTreeSet::new();
                while queue.heap.peek().is_some_and(|Reverse(due)| due.at <= Instant::now()) {
                    let Some(Reverse(due)) = queue.heap.pop() else { break };
                    let job = &jobs[due.job];
                    let schedule = &job.schedules[due.schedule];
                    // Two schedules of one job due together make one run, not a skip.
                    if !started_now.contains(&due.job) {
                        if running.values().any(|&j| j == due.job) {
                            let label = super::log::RunLabel { job: job.spec.name.clone(), tenant: None };
                            engine.log.skipped(&label, schedule.source());
                            engine.notify(&label, schedule.source(), super::observer::RunEventKind::Skipped);
                        } else {
                            started_now.insert(due.job);
                            let engine = Arc::clone(&engine);
                            let jobs = Arc::clone(&jobs);
                            let (j, s) = (due.job, due.schedule);
                            let handle = tasks.spawn(async move {
                                let job = &jobs[j];
                                engine.run_job(job, job.schedules[s].source(), &[]).await
                            });
                            running.insert(handle.id(), j);
                        }
                    }
                    rearm(&mut queue, job, &due, &engine);
                }
            }
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                running.remove(&done.as_ref().map_or_else(|e| e.id(), |(id, _)| *id));
                if let Ok((_, outcome)) = done {
                    summary.runs += outcome.runs;
                    summary.failed.extend(outcome.failed);
                }
            }
            (why, reread) = reload::next_plan(&mut reloader) => match reread {
                Ok(new) => {
                    let diff = Diff::between(&jobs, &new);
                    follow(&mut queue, &mut running, &diff, &new, &engine);
                    engine.log.reloaded(&diff.summary(), &diff.details(&new), why);
                    jobs = Arc::new(new);
                }
                Err(reason) => engine.log.reload_failed(&reason),
            },
            signal = signals.recv() => {
                engine.log.stopped_watch(signal, queue.heap.len());
                summary.signal = Some(signal);
                summary.watched_until_stopped = true;
                let _ = stop.send(StopRequest::Graceful);
                loop {
                    tokio::select! {
                        done = tasks.join_next() => match done {
                            Some(Ok(outcome)) => {
                                summary.runs += outcome.runs;
                                summary.failed.extend(outcome.failed);
                            }
                            Some(Err(_)) => {}
                            None => return summary,
                        },
                        signal = signals.recv() => {
                            engine.log.killing_runs(signal);
                            let _ = stop.send(StopRequest::Immediate);
                        }
                    }
                }
            }
        }
    }
}

/// Follows a re-read manifest: timers of unchanged jobs stay as they are (renumbered), those
/// of removed and changed jobs go, new and changed jobs are armed (a new job as at start; a
/// changed rate starts its rhythm afresh, one interval from now). Runs in progress go on; a
/// changed job's run still counts as its run for overlap.
fn follow(
    queue: &mut Queue,
    running: &mut HashMap<task::Id, usize>,
    diff: &Diff,
    new: &[PlannedJob],
    engine: &Engine,
) {
    let renumber = |old: usize| diff.renumbered.get(old).copied().flatten();
    for Reverse(mut due) in std::mem::take(&mut queue.heap) {
        if let Some(j) = renumber(due.job).filter(|&j| !diff.arms(j)) {
            due.job = j;
            queue.heap.push(Reverse(due));
        }
    }
    for job in running.values_mut() {
        // A removed job's run finishes without a job to block.
        *job = renumber(*job).unwrap_or(usize::MAX);
    }
    let now = Instant::now();
    for (j, job) in new.iter().enumerate().filter(|(j, _)| diff.arms(*j)) {
        let added = diff.added.contains(&j);
        for (s, schedule) in job.schedules.iter().enumerate() {
            match schedule.kind() {
                // @reboot means the scheduler's start, which is over.
                ScheduleKind::Reboot => {}
                ScheduleKind::Rate if added => queue.push(now, j, s, None),
                ScheduleKind::Rate => {
                    if let Some(interval) = schedule.interval().filter(|i| !i.is_zero()) {
                        queue.push(now + interval, j, s, None);
                    }
                }
                ScheduleKind::Cron | ScheduleKind::Macro => {
                    arm_wall(queue, job, j, s, Utc::now(), engine)
                }
            }
        }
    }
}

fn rearm(queue: &mut Queue, job: &PlannedJob, due: &Due, engine: &Engine) {
    let schedule = &job.schedules[due.schedule];
    match schedule.kind() {
        ScheduleKind::Reboot => {}
        ScheduleKind::Rate => {
            let Some(interval) = schedule.interval().filter(|i| !i.is_zero()) else {
                return;
            };
            let now = Instant::now();
            let mut next = due.at + interval;
            // Fell behind (a suspended machine): resume the rhythm from now, no catch-up burst.
            while next <= now {
                next += interval;
            }
            queue.push(next, due.job, due.schedule, None);
        }
        ScheduleKind::Cron | ScheduleKind::Macro => {
            let after = due.wall.map_or_else(Utc::now, |w| w.max(Utc::now()));
            arm_wall(queue, job, due.job, due.schedule, after, engine);
        }
    }
}

fn arm_wall(
    queue: &mut Queue,
    job: &PlannedJob,
    j: usize,
    s: usize,
    after: DateTime<Utc>,
    engine: &Engine,
) {
    let schedule = &job.schedules[s];
    match schedule.next_after(after, job.tz) {
        Some(next) => {
            let wall = next.with_timezone(&Utc);
            queue.push(instant_for(wall), j, s, Some(wall));
        }
        None => engine.log.notice(
            "never-fires",
            Some(&job.spec.name),
            &format!(
                "{}: schedule `{}` has no future fire time; it will not run",
                job.spec.name,
                schedule.source()
            ),
        ),
    }
}

/// Sleeps until `at`; forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The monotonic instant at which the wall clock will read `wall`.
fn instant_for(wall: DateTime<Utc>) -> Instant {
    let ahead = (wall - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    Instant::now() + ahead
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::JobEnv;
    use crate::scheduler::log::Log;
    use crate::settings::LogFormat;

    fn job(schedule: &str) -> PlannedJob {
        let text = format!(
            r#"{{"webstir": {{"moduleManifest": {{"jobs": [{{"name": "j", "schedule": "{schedule}"}}]}}}}}}"#
        );
        let manifest = crate::manifest::Manifest::from_package_json(&text)
            .and_then(crate::manifest::Manifest::require_valid)
            .expect("a valid manifest");
        let options = super::super::PlanOptions {
            timezone: Some("UTC".into()),
            ..Default::default()
        };
        super::super::plan(&manifest.jobs, &options)
            .expect("planned")
            .remove(0)
    }

    fn engine() -> Engine {
        Engine::new(
            std::path::Path::new("/nonexistent"),
            "runner.mjs".into(),
            "node".into(),
            JobEnv::default(),
            Duration::from_secs(1),
            Log::new(LogFormat::Text),
        )
        .0
    }

    fn due_at(at: Instant) -> Due {
        Due {
            at,
            seq: 0,
            job: 0,
            schedule: 0,
            wall: None,
        }
    }

    #[test]
    fn queue_pops_earliest_first_and_ties_in_manifest_order() {
        let mut queue = Queue::default();
        let now = Instant::now();
        queue.push(now + Duration::from_secs(5), 0, 0, None);
        queue.push(now, 2, 0, None);
        queue.push(now, 1, 0, None);
        let order: Vec<usize> =
            std::iter::from_fn(|| queue.heap.pop().map(|Reverse(d)| d.job)).collect();
        assert_eq!(order, [2, 1, 0]);
    }

    #[test]
    fn a_rate_that_fell_behind_resumes_from_now_without_a_burst() {
        let job = job("rate(1 minute)");
        let interval = job.schedules[0].interval().expect("a rate has an interval");
        let now = Instant::now();
        let Some(long_ago) = now.checked_sub(interval * 3 + interval / 2) else {
            return; // The monotonic clock started too recently to look back that far.
        };
        let due = due_at(long_ago);
        let mut queue = Queue::default();
        rearm(&mut queue, &job, &due, &engine());
        let Reverse(next) = queue.heap.pop().expect("re-armed");
        assert!(next.at > now);
        assert!(next.at <= now + interval);
        assert_eq!((next.at - long_ago).as_nanos() % interval.as_nanos(), 0);
    }

    #[test]
    fn the_wall_clock_alarm_aims_at_the_earliest_cron_time() {
        let mut queue = Queue::default();
        let now = Instant::now();
        let soon = Utc::now() + chrono::Duration::minutes(5);
        queue.push(now, 0, 0, None);
        queue.push(now, 1, 0, Some(soon + chrono::Duration::hours(1)));
        queue.push(now, 2, 0, Some(soon));
        assert_eq!(queue.earliest_wall(), Some(soon));
        assert_eq!(Queue::default().earliest_wall(), None);
    }

    #[test]
    fn reboot_is_never_rearmed() {
        let job = job("@reboot");
        let due = due_at(Instant::now());
        let mut queue = Queue::default();
        rearm(&mut queue, &job, &due, &engine());
        assert!(queue.heap.is_empty());
    }
}
