//! `--watch`: a timer queue over every schedule of the watched jobs. The loop sleeps until the
//! earliest due time (no polling; a wall-clock alarm re-aims it when the system clock is set),
//! delays each fire by the job's jitter, starts due jobs without waiting for them, follows the
//! job's overlap policy when it is still running (see [`super::overlap`]), makes up for fires
//! missed while it was not running (see [`super::catch_up`]), with a shared store claims each
//! fire before running it (see [`super::shared`]), starts the manual runs the HTTP server asks
//! for (see [`super::manual`]), and on SIGINT/SIGTERM stops
//! scheduling, stops the running jobs (SIGTERM, grace period, SIGKILL) and returns.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Summary;
use super::catch_up::{self, CatchUpFire};
use super::engine::{Engine, JobOutcome};
use super::fire::Fire;
use super::jitter;
use super::log::{Log, RunLabel};
use super::manual::{self, ManualReply, ManualRun};
use super::overlap::{self, Decision, Runs};
use super::plan::PlannedJob;
use super::reload::{self, Diff, Reloader};
use super::shared::{self, Shared};
use super::signals::Signals;
use super::wall_alarm::WallAlarm;
use crate::runner::StopRequest;
use crate::schedule::ScheduleKind;
use crate::store::RunStore;

/// What the watcher remembers across restarts, and what it owes from the last time.
#[derive(Default)]
pub struct Memory {
    /// Where fires of jobs with a catch-up window are recorded, and, when the store is
    /// shared, where fires are claimed; `None` when neither is needed.
    pub store: Option<Arc<dyn RunStore>>,
    /// Fires missed while no watcher ran, to run once on start.
    pub owed: Vec<CatchUpFire>,
    /// The time `owed` was worked out at; the schedules are armed from the same instant, so
    /// that no due time falls between the two.
    pub as_of: Option<DateTime<Utc>>,
}

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
    /// The jitter added to the due time (`at` includes it).
    delay: Duration,
    /// The missed due time this entry makes up for.
    catch_up: Option<DateTime<Utc>>,
}

/// Where a new queue entry is due.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A monotonic instant (rates, `@reboot`, catch-ups).
    At(Instant),
    /// A cron or macro time on the wall clock.
    Wall(DateTime<Utc>),
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,
}

impl Queue {
    /// Adds a fire of schedule `schedule` of job `job`, `delay` (its jitter) after `when`.
    fn push(&mut self, when: When, delay: Duration, job: usize, schedule: usize) {
        self.add(when, delay, job, schedule, None);
    }

    fn add(
        &mut self,
        when: When,
        delay: Duration,
        job: usize,
        schedule: usize,
        catch_up: Option<DateTime<Utc>>,
    ) {
        let (at, wall) = match when {
            When::At(at) => (at + delay, None),
            When::Wall(wall) => (instant_for(wall + delay), Some(wall)),
        };
        self.seq += 1;
        self.heap.push(Reverse(Due {
            at,
            seq: self.seq,
            job,
            schedule,
            wall,
            delay,
            catch_up,
        }));
    }

    /// The earliest wall-clock time at which a cron or macro entry starts (jitter included).
    fn earliest_wall(&self) -> Option<DateTime<Utc>> {
        self.heap
            .iter()
            .filter_map(|Reverse(due)| due.wall.map(|wall| wall + due.delay))
            .min()
    }

    /// Re-derives the monotonic due time of wall-clock entries from the current clock.
    fn reaim(&mut self) {
        let entries: Vec<Due> = std::mem::take(&mut self.heap)
            .into_iter()
            .map(|Reverse(mut due)| {
                if let Some(wall) = due.wall {
                    // The jittered time as a whole: a due time already past but a start still
                    // ahead must stay ahead, not move forward by the jitter at every re-aim.
                    due.at = instant_for(wall + due.delay);
                }
                due
            })
            .collect();
        self.heap = entries.into_iter().map(Reverse).collect();
    }
}

/// The jobs that have a schedule; each one left out gets a note saying so.
pub fn scheduled_only(mut jobs: Vec<PlannedJob>, log: &Log) -> Vec<PlannedJob> {
    for job in jobs.iter().filter(|job| job.schedules.is_empty()) {
        let name = &job.spec.name;
        log.notice(
            "not-scheduled",
            Some(name),
            &format!("{name} has no schedule and is not watched; run it with --job {name}"),
        );
    }
    // In place, then trimmed: the jobs are kept for the life of the watcher.
    jobs.retain(|job| !job.schedules.is_empty());
    jobs.shrink_to_fit();
    jobs
}

/// What reaches the loop besides time and signals.
#[derive(Default)]
pub struct Inputs {
    /// Re-read plans of a followed package.json.
    pub reloader: Option<Reloader>,
    /// Manual runs asked of the HTTP server.
    pub manual: Option<mpsc::Receiver<ManualRun>>,
}

/// A fire waiting behind a job's active run (overlap `queue` or `replace`), and whether it is
/// claimed before it runs.
type Waiting = (Fire, bool);

/// Runs the watcher until a signal arrives or, when every schedule is `@reboot`, until those
/// runs are done. `alarm` wakes it at cron and macro times and when the system clock is set.
pub async fn watch(
    engine: Arc<Engine>,
    jobs: Vec<PlannedJob>,
    alarm: WallAlarm,
    signals: &mut Signals,
    stop: &watch::Sender<StopRequest>,
    memory: Memory,
    inputs: Inputs,
) -> Summary {
    let Inputs {
        mut reloader,
        mut manual,
    } = inputs;
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
    let now = memory.as_of.unwrap_or_else(Utc::now);
    let shared: Option<Arc<Shared>> = memory
        .store
        .as_ref()
        .filter(|store| store.shared())
        .map(|store| Arc::new(Shared::new(Arc::clone(store), engine.log)));
    // Stopped when the watcher returns: its runs have ended by then.
    let _heartbeat = shared
        .as_ref()
        .map(|shared| AbortOnDrop(tokio::spawn(Arc::clone(shared).heartbeat_forever())));
    let anchored = shared.is_some();
    for (j, job) in jobs.iter().enumerate() {
        for (s, schedule) in job.schedules.iter().enumerate() {
            match schedule.kind() {
                ScheduleKind::Rate if anchored => arm_anchored(&mut queue, job, j, s, now),
                ScheduleKind::Reboot | ScheduleKind::Rate => {
                    queue.push(When::At(start), jitter_of(job), j, s)
                }
                ScheduleKind::Cron | ScheduleKind::Macro => {
                    arm_wall(&mut queue, job, j, s, now, &engine)
                }
            }
        }
    }
    for owed in &memory.owed {
        let delay = jitter_of(&jobs[owed.job]);
        queue.add(
            When::At(start),
            delay,
            owed.job,
            owed.schedule,
            Some(owed.due),
        );
    }
    let mut fires = memory.store;

    let mut summary = Summary::default();
    let mut runs: Runs<Waiting> = Runs::default();
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
                    let fire = fire_of(job, &due);
                    if let Some(fires) = &fires
                        && catch_up::tracked(job)
                        && (due.wall.is_some() || due.catch_up.is_some())
                    {
                        // Recorded as the fire starts, so that a crash mid-run is not caught
                        // up again on the next start; in a task, so that a slow store never
                        // holds up the loop.
                        record_fire(fires, shared.as_ref(), &engine, &job.spec.name, fire.due);
                    }
                    // Only fires with a due time every watcher agrees on are claimed: @reboot
                    // means each watcher's own start.
                    let claim = shared.is_some()
                        && (due.wall.is_some() || due.catch_up.is_some());
                    // Two schedules of one job due together make one run, not an overlap.
                    if started_now.insert(due.job) {
                        let label = RunLabel { job: job.spec.name.clone(), tenant: None };
                        let decision = overlap::decide(
                            job.policies.overlap,
                            runs.active(due.job),
                            runs.is_waiting(due.job),
                        );
                        match decision {
                            Decision::Start => {
                                let claim = shared.as_ref().filter(|_| claim);
                                start_run(&engine, &jobs, &mut tasks, &mut runs, due.job, fire, claim);
                            }
                            Decision::Skip => {
                                engine.log.skipped(&label, &fire.schedule);
                                engine.skipped(&label, &fire);
                            }
                            Decision::QueueFull => {
                                engine.log.skipped_queue_full(&label, &fire.schedule);
                                engine.skipped(&label, &fire);
                            }
                            Decision::Queue => {
                                engine.log.queued(&label, &fire.schedule);
                                runs.wait(due.job, (fire, claim));
                            }
                            Decision::Replace => {
                                engine.log.replacing(&label, &fire.schedule, engine.grace);
                                runs.stop_job(due.job, StopRequest::Graceful);
                                runs.wait(due.job, (fire, claim));
                            }
                        }
                    }
                    rearm(&mut queue, job, &due, &engine, anchored);
                }
            }
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = done.as_ref().map_or_else(|e| e.id(), |(id, _)| *id);
                if let Ok((_, outcome)) = done {
                    summary.runs += outcome.runs;
                    summary.failed.extend(outcome.failed);
                }
                if let Some(j) = runs.finished(id)
                    && let Some((fire, claim)) = runs.take_ready(j)
                {
                    let claim = shared.as_ref().filter(|_| claim);
                    start_run(&engine, &jobs, &mut tasks, &mut runs, j, fire, claim);
                }
            }
            request = manual::next(&mut manual) => {
                let reply = match jobs.iter().position(|job| job.spec.name == request.job) {
                    None => ManualReply::NotWatched,
                    Some(j) if runs.active(j) > 0 => ManualReply::Running,
                    Some(j) => {
                        let fire = Fire::manual(Utc::now());
                        start_run(&engine, &jobs, &mut tasks, &mut runs, j, fire, None);
                        ManualReply::Started
                    }
                };
                // The server may have given up waiting; the run goes on all the same.
                let _ = request.reply.send(reply);
            }
            (why, reread) = reload::next_plan(&mut reloader) => match reread {
                Ok(new) => {
                    // A job that gained a catch-up window starts recording its fires now (it
                    // catches up after the next restart, as a new job would).
                    if fires.is_none() && new.iter().any(catch_up::tracked) {
                        match crate::store::SqliteStore::open(&engine.root) {
                            Ok(store) => {
                                fires = Some(Arc::new(store));
                            }
                            Err(error) => engine.log.notice(
                                "state",
                                None,
                                &format!("could not open the state store for catch-up: {error}"),
                            ),
                        }
                    }
                    let diff = Diff::between(&jobs, &new);
                    follow(&mut queue, &mut runs, &diff, &new, &engine, anchored);
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
                runs.stop_all(StopRequest::Graceful);
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
                            runs.stop_all(StopRequest::Immediate);
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
/// changed job's run still counts as its run for overlap, and a removed job's waiting fire is
/// dropped.
fn follow(
    queue: &mut Queue,
    runs: &mut Runs<Waiting>,
    diff: &Diff,
    new: &[PlannedJob],
    engine: &Engine,
    anchored: bool,
) {
    let renumber = |old: usize| diff.renumbered.get(old).copied().flatten();
    for Reverse(mut due) in std::mem::take(&mut queue.heap) {
        if let Some(j) = renumber(due.job).filter(|&j| !diff.arms(j)) {
            due.job = j;
            queue.heap.push(Reverse(due));
        }
    }
    runs.renumber(renumber);
    let now = Instant::now();
    for (j, job) in new.iter().enumerate().filter(|(j, _)| diff.arms(*j)) {
        let added = diff.added.contains(&j);
        for (s, schedule) in job.schedules.iter().enumerate() {
            match schedule.kind() {
                // @reboot means the scheduler's start, which is over.
                ScheduleKind::Reboot => {}
                ScheduleKind::Rate if anchored => arm_anchored(queue, job, j, s, Utc::now()),
                ScheduleKind::Rate if added => queue.push(When::At(now), jitter_of(job), j, s),
                ScheduleKind::Rate => {
                    if let Some(interval) = schedule.interval().filter(|i| !i.is_zero()) {
                        queue.push(When::At(now + interval), jitter_of(job), j, s);
                    }
                }
                ScheduleKind::Cron | ScheduleKind::Macro => {
                    arm_wall(queue, job, j, s, Utc::now(), engine)
                }
            }
        }
    }
}

/// Starts a run of job `j` for `fire` with its own stop switch, without waiting for it.
fn start_run(
    engine: &Arc<Engine>,
    jobs: &Arc<Vec<PlannedJob>>,
    tasks: &mut JoinSet<JobOutcome>,
    runs: &mut Runs<Waiting>,
    j: usize,
    fire: Fire,
    claim: Option<&Arc<Shared>>,
) {
    let (switch, stop) = Runs::<Waiting>::switch();
    let engine = Arc::clone(engine);
    let jobs = Arc::clone(jobs);
    let claim = claim.map(Arc::clone);
    let handle = tasks.spawn(async move {
        let job = &jobs[j];
        // Claimed here, in the run's own task: the loop never waits for the store. A fire
        // taken by another watcher is neither a run nor a failure here.
        if let Some(shared) = claim {
            let label = RunLabel {
                job: job.spec.name.clone(),
                tenant: None,
            };
            if !shared.claim(&label, &fire).await {
                return JobOutcome::default();
            }
        }
        engine.run_job(job, &fire, &[], &stop).await
    });
    runs.started(handle.id(), j, switch);
}

/// The fire a queue entry stands for: a cron or macro fire is due at its wall-clock time; a
/// rate or `@reboot` fire at the (unjittered) instant it came due.
fn fire_of(job: &PlannedJob, due: &Due) -> Fire {
    let schedule = job.schedules[due.schedule].source().to_owned();
    let when = due.catch_up.or(due.wall).unwrap_or_else(|| {
        let late = Instant::now().saturating_duration_since(due.at) + due.delay;
        let late = chrono::Duration::from_std(late).unwrap_or_default();
        // Milliseconds are as precise as a monotonic-to-wall conversion can honestly be.
        let at = Utc::now() - late;
        DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
    });
    Fire {
        schedule,
        due: when,
        catch_up: due.catch_up.is_some(),
    }
}

fn jitter_of(job: &PlannedJob) -> Duration {
    jitter::random_delay(job.policies.jitter)
}

fn rearm(queue: &mut Queue, job: &PlannedJob, due: &Due, engine: &Engine, anchored: bool) {
    if due.catch_up.is_some() {
        return;
    }
    let schedule = &job.schedules[due.schedule];
    match schedule.kind() {
        ScheduleKind::Reboot => {}
        ScheduleKind::Rate if anchored => {
            let after = due.wall.map_or_else(Utc::now, |w| w.max(Utc::now()));
            arm_anchored(queue, job, due.job, due.schedule, after);
        }
        ScheduleKind::Rate => {
            let Some(interval) = schedule.interval().filter(|i| !i.is_zero()) else {
                return;
            };
            let now = Instant::now();
            // The rhythm follows the due times, not the jittered start times.
            let base = due.at.checked_sub(due.delay).unwrap_or(due.at);
            let mut next = base + interval;
            // Fell behind (a suspended machine): resume the rhythm from now, no catch-up burst.
            while next <= now {
                next += interval;
            }
            queue.push(When::At(next), jitter_of(job), due.job, due.schedule);
        }
        ScheduleKind::Cron | ScheduleKind::Macro => {
            let after = due.wall.map_or_else(Utc::now, |w| w.max(Utc::now()));
            arm_wall(queue, job, due.job, due.schedule, after, engine);
        }
    }
}

/// Arms a rate schedule at its next due time on the epoch-anchored grid (shared stores).
fn arm_anchored(queue: &mut Queue, job: &PlannedJob, j: usize, s: usize, after: DateTime<Utc>) {
    if let Some(interval) = job.schedules[s].interval().filter(|i| !i.is_zero()) {
        let wall = shared::anchored_after(interval, after);
        queue.push(When::Wall(wall), jitter_of(job), j, s);
    }
}

/// Records a fire for catch-up without holding up the loop.
fn record_fire(
    store: &Arc<dyn RunStore>,
    shared: Option<&Arc<Shared>>,
    engine: &Arc<Engine>,
    job: &str,
    due: DateTime<Utc>,
) {
    let store = Arc::clone(store);
    let shared = shared.map(Arc::clone);
    let log = engine.log;
    let job = job.to_owned();
    tokio::spawn(async move {
        match shared {
            // An outage of a shared store is said once, by the outage tracker.
            Some(shared) => shared.record_fire(&job, due).await,
            None => {
                if let Err(error) = store.record_fire(&job, due).await {
                    log.notice(
                        "state",
                        Some(&job),
                        &format!("could not record the fire of {job}: {error}"),
                    );
                }
            }
        }
    });
}

/// Aborts a background task when the watcher returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
            queue.push(When::Wall(wall), jitter_of(job), j, s);
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
            delay: Duration::ZERO,
            catch_up: None,
        }
    }

    #[test]
    fn queue_pops_earliest_first_and_ties_in_manifest_order() {
        let mut queue = Queue::default();
        let now = Instant::now();
        queue.push(When::At(now + Duration::from_secs(5)), Duration::ZERO, 0, 0);
        queue.push(When::At(now), Duration::ZERO, 2, 0);
        queue.push(When::At(now), Duration::ZERO, 1, 0);
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
        rearm(&mut queue, &job, &due, &engine(), false);
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
        let no_jitter = Duration::ZERO;
        queue.push(When::At(now), no_jitter, 0, 0);
        queue.push(
            When::Wall(soon + chrono::Duration::hours(1)),
            no_jitter,
            1,
            0,
        );
        queue.push(When::Wall(soon), Duration::from_secs(7), 2, 0);
        // The alarm aims at the jittered start, or it would wake early and spin.
        assert_eq!(
            queue.earliest_wall(),
            Some(soon + chrono::Duration::seconds(7))
        );
        assert_eq!(Queue::default().earliest_wall(), None);
    }

    /// Regression: a cron time already past whose jittered start was still ahead moved forward
    /// by the jitter at every re-aim, so the watcher spun on the alarm and never started it.
    #[test]
    fn re_aiming_keeps_a_jittered_start_where_it_was() {
        let mut queue = Queue::default();
        let jitter = Duration::from_secs(5);
        queue.push(
            When::Wall(Utc::now() - chrono::Duration::seconds(1)),
            jitter,
            0,
            0,
        );
        let latest = Instant::now() + Duration::from_secs(4);
        for _ in 0..3 {
            queue.reaim();
            let Reverse(due) = queue.heap.peek().expect("queued");
            assert!(
                due.at <= latest + Duration::from_millis(500),
                "moved forward"
            );
        }
    }

    #[test]
    fn reboot_is_never_rearmed() {
        let job = job("@reboot");
        let due = due_at(Instant::now());
        let mut queue = Queue::default();
        rearm(&mut queue, &job, &due, &engine(), false);
        assert!(queue.heap.is_empty());
    }
}
