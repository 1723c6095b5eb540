//! The scheduler's events, written either as the stable `[jobs] ...` lines (text) or as one
//! JSON object per event (json) through `tracing`.
//!
//! Text mode: scheduler lines start with `[jobs] `; a job's own output lines are prefixed with
//! `[<job>] ` (`[<job>@<tenant>] ` for a tenant's run) and keep their stream. JSON mode: every
//! event, job output included, is one object on stdout with `time`, `level`, `event`,
//! `message` and, where they apply, `job`, `tenant`, `schedule`, `fire_time`, `catch_up`,
//! `attempt`, `attempts`, `delay_ms`, `duration_ms`, `exit_status`, `error`, `stream`,
//! `signal` and `suggestion`. Event names are stable; docs/scheduler.md lists them.
//!
//! When stdout goes away (`scheduler --watch | head -3`) the scheduler keeps running: it says
//! so once on stderr and writes what would have gone to stdout to stderr from then on.

mod json;

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::fire::{Attempt, Fire};
use crate::runner::{Failure, OutputNote, RunResult, Stream};
use crate::settings::LogFormat;

/// Target of the scheduler's tracing events; the JSON layer writes only these.
const TARGET: &str = "webstir::scheduler";

/// Who a run is for: a job, and the tenant when the job runs per tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabel {
    pub job: String,
    pub tenant: Option<String>,
}

impl RunLabel {
    /// `[nightly]` or `[nightly@acme]`: the prefix of the job's output lines in text mode.
    pub fn output_prefix(&self) -> String {
        match &self.tenant {
            Some(tenant) => format!("[{}@{tenant}]", self.job),
            None => format!("[{}]", self.job),
        }
    }
}

impl fmt::Display for RunLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tenant {
            Some(tenant) => write!(f, "{} for tenant {tenant}", self.job),
            None => f.write_str(&self.job),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Info,
    Warn,
    Error,
}

/// One event, as both formats need it.
#[derive(Debug)]
struct Event<'a> {
    level: Level,
    name: &'static str,
    /// The text-mode line after `[jobs] ` (for `output`, the job's line itself).
    message: String,
    /// Text mode writes the line to stderr rather than stdout.
    stderr: bool,
    job: Option<&'a str>,
    tenant: Option<&'a str>,
    schedule: Option<&'a str>,
    fire_time: Option<String>,
    catch_up: Option<bool>,
    attempt: Option<u32>,
    attempts: Option<u32>,
    delay_ms: Option<u64>,
    duration_ms: Option<u64>,
    exit_status: Option<i32>,
    error: Option<String>,
    stream: Option<&'static str>,
    signal: Option<&'a str>,
    suggestion: Option<&'a str>,
}

impl<'a> Event<'a> {
    fn new(level: Level, name: &'static str, message: String) -> Event<'a> {
        Event {
            level,
            name,
            message,
            stderr: level != Level::Info,
            job: None,
            tenant: None,
            schedule: None,
            fire_time: None,
            catch_up: None,
            attempt: None,
            attempts: None,
            delay_ms: None,
            duration_ms: None,
            exit_status: None,
            error: None,
            stream: None,
            signal: None,
            suggestion: None,
        }
    }

    fn run(mut self, label: &'a RunLabel, schedule: &'a str) -> Event<'a> {
        self.job = Some(&label.job);
        self.tenant = label.tenant.as_deref();
        self.schedule = Some(schedule);
        self
    }

    /// Attempt numbers, shown only for jobs that retry.
    fn attempt(mut self, attempt: Attempt) -> Event<'a> {
        if attempt.of > 1 {
            self.attempt = Some(attempt.number);
            self.attempts = Some(attempt.of);
        }
        self
    }
}

/// ` (attempt 2 of 3)` for jobs that retry, else nothing.
fn attempt_suffix(attempt: Attempt) -> String {
    if attempt.of > 1 {
        format!(" (attempt {} of {})", attempt.number, attempt.of)
    } else {
        String::new()
    }
}

/// Writes scheduler events in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    format: LogFormat,
}

impl Log {
    /// A log in `format`; JSON mode installs the JSON layer as the global subscriber.
    pub fn new(format: LogFormat) -> Log {
        if format == LogFormat::Json {
            json::install();
        }
        Log { format }
    }

    pub fn no_jobs(&self) {
        let message = "no jobs registered in webstir.moduleManifest.jobs".to_owned();
        self.emit(Event::new(Level::Info, "no-jobs", message));
    }

    /// A run starts; `shown` is the job's schedule as the line shows it, `fire` what fired
    /// it (`manual` for `--job` and `--all`).
    pub fn running(&self, label: &RunLabel, shown: &str, fire: &Fire, attempt: Attempt) {
        let what = if fire.catch_up {
            format!("catch-up for {}", fire.due_text())
        } else {
            format!("schedule: {shown}")
        };
        let message = match attempt.of {
            1 => format!("running {label} ({what})"),
            of => format!(
                "running {label} ({what}; attempt {} of {of})",
                attempt.number
            ),
        };
        let mut event = Event::new(Level::Info, "started", message)
            .run(label, &fire.schedule)
            .attempt(attempt);
        event.fire_time = Some(fire.due_text());
        event.catch_up = fire.catch_up.then_some(true);
        self.emit(event);
    }

    pub fn completed(
        &self,
        label: &RunLabel,
        schedule: &str,
        duration: Duration,
        attempt: Attempt,
    ) {
        let ms = duration.as_millis() as u64;
        let message = format!("{label} completed in {ms}ms{}", attempt_suffix(attempt));
        let mut event = Event::new(Level::Info, "completed", message)
            .run(label, schedule)
            .attempt(attempt);
        event.duration_ms = Some(ms);
        event.exit_status = Some(0);
        self.emit(event);
    }

    /// An attempt failed: the run's failure (`failed`) when it is the `last` attempt, else a
    /// warning (`attempt-failed`) followed by a retry.
    pub fn failed(
        &self,
        label: &RunLabel,
        schedule: &str,
        failure: &Failure,
        result: &RunResult,
        attempt: Attempt,
        last: bool,
    ) {
        let message = match attempt.of {
            1 => format!("{label} failed: {failure}"),
            of => format!(
                "{label} attempt {} of {of} failed: {failure}",
                attempt.number
            ),
        };
        let (level, name) = if last {
            (Level::Error, "failed")
        } else {
            (Level::Warn, "attempt-failed")
        };
        let mut event = Event::new(level, name, message)
            .run(label, schedule)
            .attempt(attempt);
        event.duration_ms = Some(result.duration.as_millis() as u64);
        event.exit_status = result.exit_code;
        event.error = Some(failure.to_string());
        self.emit(event);
    }

    /// The wait before attempt `next`.
    pub fn retrying(&self, label: &RunLabel, schedule: &str, next: Attempt, delay: Duration) {
        let message = format!(
            "retrying {label} in {} (attempt {} of {})",
            humantime::format_duration(delay),
            next.number,
            next.of
        );
        let mut event = Event::new(Level::Warn, "retrying", message)
            .run(label, schedule)
            .attempt(next);
        event.delay_ms = Some(delay.as_millis() as u64);
        self.emit(event);
    }

    /// The scheduler was told to stop (or the run was replaced) while waiting to retry: the
    /// failed attempt stands as the run's failure.
    pub fn retry_cancelled(&self, label: &RunLabel, schedule: &str, failed: Attempt) {
        let message = format!(
            "{label} failed: not retrying after attempt {} of {}, the run was stopped",
            failed.number, failed.of
        );
        let event = Event::new(Level::Error, "failed", message)
            .run(label, schedule)
            .attempt(failed);
        self.emit(event);
    }

    /// A run that could not even start (for example its module is missing).
    pub fn not_started(&self, label: &RunLabel, schedule: &str, reason: &str) {
        let message = format!("{label} failed: {reason}");
        let mut event = Event::new(Level::Error, "failed", message).run(label, schedule);
        event.error = Some(reason.to_owned());
        self.emit(event);
    }

    pub fn skipped(&self, label: &RunLabel, schedule: &str) {
        let message =
            format!("skipping {label}; previous run is still active (overlap policy: skip)");
        self.emit(Event::new(Level::Warn, "skipped", message).run(label, schedule));
    }

    /// Overlap `queue` with a run already waiting: this fire is dropped.
    pub fn skipped_queue_full(&self, label: &RunLabel, schedule: &str) {
        let message = format!(
            "skipping {label}; a run is already queued behind the active one (overlap policy: queue)"
        );
        self.emit(Event::new(Level::Warn, "skipped", message).run(label, schedule));
    }

    pub fn queued(&self, label: &RunLabel, schedule: &str) {
        let message =
            format!("queuing {label}; it runs when the active run ends (overlap policy: queue)");
        self.emit(Event::new(Level::Info, "queued", message).run(label, schedule));
    }

    pub fn replacing(&self, label: &RunLabel, schedule: &str, grace: Duration) {
        let message = format!(
            "replacing {label}; stopping the active run (SIGTERM, {} grace) (overlap policy: replace)",
            humantime::format_duration(grace)
        );
        self.emit(Event::new(Level::Warn, "replacing", message).run(label, schedule));
    }

    /// One line the job printed.
    pub fn output(&self, label: &RunLabel, stream: Stream, line: &str) {
        if self.format == LogFormat::Text {
            let prefix = label.output_prefix();
            write_line(stream == Stream::Stderr, format_args!("{prefix} {line}"));
            return;
        }
        let mut event = Event::new(Level::Info, "output", line.to_owned());
        event.job = Some(&label.job);
        event.tenant = label.tenant.as_deref();
        event.stream = Some(stream.as_str());
        self.emit(event);
    }

    /// What happened to a run's output on the way, said once per run and stream.
    pub fn output_note(&self, label: &RunLabel, schedule: &str, note: OutputNote) {
        let (name, stream, message) = match note {
            OutputNote::LinesSplit(stream) => (
                "line-split",
                Some(stream),
                format!(
                    "{label} printed a line longer than {kib} KiB on {}; such lines are forwarded in pieces of {kib} KiB",
                    stream.as_str(),
                    kib = crate::runner::MAX_LINE / 1024,
                ),
            ),
            OutputNote::Abandoned(stream) => (
                "output-dropped",
                stream,
                format!(
                    "{label} ended, but a process it started outside its group (detached) still holds its {}; output after {}ms was dropped",
                    stream.map_or("stdout and stderr", Stream::as_str),
                    crate::runner::process::LINGER.as_millis(),
                ),
            ),
        };
        let mut event = Event::new(Level::Warn, name, message).run(label, schedule);
        event.stream = stream.map(Stream::as_str);
        self.emit(event);
    }

    /// `--job` named a job the manifest does not have.
    pub fn not_found(&self, name: &str, suggestion: Option<&str>) {
        let message = format!("job '{name}' not found");
        if self.format == LogFormat::Text {
            write_line(true, format_args!("[jobs] {message}"));
            if let Some(suggestion) = suggestion {
                write_line(true, format_args!("[jobs] did you mean '{suggestion}'?"));
            }
            return;
        }
        let mut event = Event::new(Level::Error, "not-found", message);
        event.job = Some(name);
        event.suggestion = suggestion;
        self.emit(event);
    }

    pub fn watching(&self, jobs: &[&str]) {
        let message = format!("watching jobs: {}", jobs.join(", "));
        self.emit(Event::new(Level::Info, "watching", message));
    }

    /// `--http`: where the metrics and status page are served.
    pub fn serving(&self, url: &str) {
        let message = format!("serving {url}");
        self.emit(Event::new(Level::Info, "serving", message));
    }

    /// The tenant provider listed the tenants of this fire of `job`.
    pub fn tenants_listed(&self, job: &str, schedule: &str, ids: &[String]) {
        let message = if ids.is_empty() {
            format!("{job}: the tenant provider listed no tenants; nothing to run")
        } else {
            format!(
                "{job}: running for {} tenant(s): {}",
                ids.len(),
                ids.join(", ")
            )
        };
        let mut event = Event::new(Level::Info, "tenants", message);
        event.job = Some(job);
        event.schedule = Some(schedule);
        self.emit(event);
    }

    /// The tenant provider could not list the tenants of this fire; no tenant runs.
    pub fn tenant_provider_failed(&self, job: &str, schedule: &str, reason: &str) {
        let message = format!("{job} failed: {reason}; no tenant ran");
        let mut event = Event::new(Level::Error, "tenant-provider-failed", message);
        event.job = Some(job);
        event.schedule = Some(schedule);
        event.error = Some(reason.to_owned());
        self.emit(event);
    }

    /// The watcher re-read the manifest and follows the new plan; `summary` says what changed
    /// (`+1 job, 1 changed`), `details` which jobs, `why` what made it re-read.
    pub fn reloaded(&self, summary: &str, details: &str, why: &str) {
        let message = if details.is_empty() {
            format!("manifest reloaded: {summary}")
        } else {
            format!("manifest reloaded: {summary} ({details})")
        };
        let mut event = Event::new(Level::Info, "reloaded", message);
        event.signal = (why == "SIGHUP").then_some("SIGHUP");
        self.emit(event);
    }

    /// The manifest could not be re-read; the watcher keeps the plan it had.
    pub fn reload_failed(&self, reason: &str) {
        let message = format!("manifest not reloaded, keeping the last valid plan: {reason}");
        let mut event = Event::new(Level::Error, "reload-failed", message);
        event.error = Some(reason.to_owned());
        self.emit(event);
    }

    /// Another watcher sharing the store took this fire: it runs there, not here.
    pub fn claimed_elsewhere(&self, label: &RunLabel, fire: &Fire, by: Option<&str>) {
        let by = by.map_or_else(
            || "another watcher".to_owned(),
            |by| format!("claimed by {by}"),
        );
        let message = format!("not running {label} due {}: {by}", fire.due_text());
        let mut event =
            Event::new(Level::Info, "claimed-elsewhere", message).run(label, &fire.schedule);
        event.fire_time = Some(fire.due_text());
        self.emit(event);
    }

    /// A fire not run because the shared store could not be asked who runs it.
    pub fn not_claimed(&self, label: &RunLabel, fire: &Fire) {
        let message = format!(
            "skipping {label} due {}: the run store is unreachable, so it cannot be claimed (no watcher runs it twice)",
            fire.due_text()
        );
        let mut event = Event::new(Level::Warn, "not-claimed", message).run(label, &fire.schedule);
        event.fire_time = Some(fire.due_text());
        self.emit(event);
    }

    /// The run store stopped answering (said once per outage).
    pub fn store_down(&self, location: &str, error: &str) {
        let message = format!(
            "run store `{location}` unreachable: {error}; shared fires are skipped until it answers again (retrying)"
        );
        let mut event = Event::new(Level::Error, "store-unreachable", message);
        event.error = Some(error.to_owned());
        self.emit(event);
    }

    /// The run store answers again after an outage.
    pub fn store_back(&self, location: &str, down_for: Duration) {
        let message = format!(
            "run store `{location}` reachable again after {}",
            humantime::format_duration(Duration::from_secs(down_for.as_secs().max(1)))
        );
        let mut event = Event::new(Level::Info, "store-recovered", message);
        event.duration_ms = Some(u64::try_from(down_for.as_millis()).unwrap_or(u64::MAX));
        self.emit(event);
    }

    /// Runs of watchers that stopped sending heartbeats were marked lost.
    pub fn runs_lost(&self, count: usize) {
        let message = format!(
            "marked {count} run(s) lost: their watcher stopped sending heartbeats (it died or lost the store)"
        );
        self.emit(Event::new(Level::Warn, "runs-lost", message));
    }

    /// A note about the run as a whole (for example a job left out of the watch).
    pub fn notice(&self, name: &'static str, job: Option<&str>, message: &str) {
        let mut event = Event::new(Level::Warn, name, message.to_owned());
        event.job = job;
        self.emit(event);
    }

    pub fn reboot_done(&self) {
        let message = "completed @reboot jobs and exiting.".to_owned();
        self.emit(Event::new(Level::Info, "exiting", message));
    }

    pub fn stopped_watch(&self, signal: &str, timers: usize) {
        let message = format!("received {signal}; stopped {timers} scheduled job timer(s).");
        let mut event = Event::new(Level::Info, "signal", message);
        event.signal = Some(signal);
        self.emit(event);
    }

    pub fn stopping_runs(&self, signal: &str) {
        let message = format!("received {signal}; stopping the running job.");
        let mut event = Event::new(Level::Warn, "signal", message);
        event.signal = Some(signal);
        self.emit(event);
    }

    /// A second signal while stopping: no more grace.
    pub fn killing_runs(&self, signal: &str) {
        let message = format!("received {signal} again; killing running jobs now.");
        let mut event = Event::new(Level::Warn, "signal", message);
        event.signal = Some(signal);
        self.emit(event);
    }

    /// The end of a run of several jobs in which some failed.
    pub fn summary(&self, failed: &[String], total: usize) {
        let message = format!(
            "{} of {total} job run(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
        self.emit(Event::new(Level::Error, "summary", message));
    }

    fn emit(&self, event: Event<'_>) {
        if self.format == LogFormat::Text {
            // A message of several lines (a manifest's diagnostics) keeps the prefix on each.
            for line in event.message.lines() {
                write_line(event.stderr, format_args!("[jobs] {line}"));
            }
            return;
        }
        // tracing needs the level at compile time, hence one call per level.
        macro_rules! trace {
            ($level:expr) => {
                tracing::event!(
                    target: TARGET,
                    $level,
                    event = event.name,
                    job = event.job,
                    tenant = event.tenant,
                    schedule = event.schedule,
                    fire_time = event.fire_time.as_deref(),
                    catch_up = event.catch_up,
                    attempt = event.attempt,
                    attempts = event.attempts,
                    delay_ms = event.delay_ms,
                    stream = event.stream,
                    duration_ms = event.duration_ms,
                    exit_status = event.exit_status,
                    error = event.error.as_deref(),
                    signal = event.signal,
                    suggestion = event.suggestion,
                    message = event.message.as_str(),
                )
            };
        }
        match event.level {
            Level::Info => trace!(tracing::Level::INFO),
            Level::Warn => trace!(tracing::Level::WARN),
            Level::Error => trace!(tracing::Level::ERROR),
        }
    }
}

/// Set once a write to stdout failed: everything for stdout goes to stderr from then on.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Writes one text-mode line; a closed stream must not stop the scheduler supervising its
/// children.
fn write_line(stderr: bool, line: fmt::Arguments<'_>) {
    if stderr {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    } else {
        write_stdout(line, LogFormat::Text);
    }
}

/// Writes one line to stdout, or to stderr once stdout is gone; the first failure is said on
/// stderr, in `format`.
fn write_stdout(line: fmt::Arguments<'_>, format: LogFormat) {
    if !STDOUT_GONE.load(Ordering::Relaxed) {
        let Err(error) = writeln!(std::io::stdout().lock(), "{line}") else {
            return;
        };
        if !STDOUT_GONE.swap(true, Ordering::Relaxed) {
            let message = format!("stdout is closed ({error}); logging to stderr from now on");
            let notice = match format {
                LogFormat::Text => format!("[jobs] {message}"),
                LogFormat::Json => json::line(&[
                    ("level", "warn".into()),
                    ("event", "stdout-closed".into()),
                    ("message", message.into()),
                ]),
            };
            let _ = writeln!(std::io::stderr().lock(), "{notice}");
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
