//! The scheduler's events, written either as the stable `[jobs] ...` lines (text) or as one
//! JSON object per event (json) through `tracing`.
//!
//! Text mode: scheduler lines start with `[jobs] `; a job's own output lines are prefixed with
//! `[<job>] ` (`[<job>@<tenant>] ` for a tenant's run) and keep their stream. JSON mode: every
//! event, job output included, is one object on stdout with `time`, `level`, `event` and, where
//! they apply, `job`, `tenant`, `schedule`, `duration_ms`, `exit_status`, `error`, `stream`
//! and `message`.

use std::fmt;
use std::io::Write;
use std::sync::Once;
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::runner::{Failure, Stream};
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

/// Writes scheduler events in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    format: LogFormat,
}

macro_rules! emit {
    ($level:expr, $($field:tt)*) => {
        tracing::event!(target: TARGET, $level, $($field)*)
    };
}

impl Log {
    /// A log in `format`; JSON mode installs the JSON layer as the global subscriber.
    pub fn new(format: LogFormat) -> Log {
        if format == LogFormat::Json {
            install_json_layer();
        }
        Log { format }
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    fn text(&self) -> bool {
        self.format == LogFormat::Text
    }

    pub fn no_jobs(&self) {
        const MESSAGE: &str = "no jobs registered in webstir.moduleManifest.jobs";
        if self.text() {
            out(format_args!("[jobs] {MESSAGE}"));
        } else {
            emit!(tracing::Level::INFO, event = "no-jobs", message = MESSAGE);
        }
    }

    /// A run starts; `shown` is the job's schedule as the line shows it, `schedule` what fired
    /// it (`manual` for `--job` and `--all`).
    pub fn running(&self, label: &RunLabel, shown: &str, schedule: &str) {
        if self.text() {
            out(format_args!("[jobs] running {label} (schedule: {shown})"));
        } else {
            emit!(
                tracing::Level::INFO,
                event = "started",
                job = label.job.as_str(),
                tenant = label.tenant.as_deref(),
                schedule,
                message = format!("running {label} (schedule: {shown})")
            );
        }
    }

    pub fn completed(&self, label: &RunLabel, schedule: &str, duration: Duration) {
        let ms = duration.as_millis() as u64;
        if self.text() {
            out(format_args!("[jobs] {label} completed in {ms}ms"));
        } else {
            emit!(
                tracing::Level::INFO,
                event = "completed",
                job = label.job.as_str(),
                tenant = label.tenant.as_deref(),
                schedule,
                duration_ms = ms,
                exit_status = 0,
                message = format!("{label} completed in {ms}ms")
            );
        }
    }

    pub fn failed(
        &self,
        label: &RunLabel,
        schedule: &str,
        failure: &Failure,
        duration: Duration,
        exit_status: Option<i32>,
    ) {
        if self.text() {
            err(format_args!("[jobs] {label} failed: {failure}"));
        } else {
            emit!(
                tracing::Level::ERROR,
                event = "failed",
                job = label.job.as_str(),
                tenant = label.tenant.as_deref(),
                schedule,
                duration_ms = duration.as_millis() as u64,
                exit_status,
                error = failure.to_string(),
                message = format!("{label} failed: {failure}")
            );
        }
    }

    /// A run that could not even start (for example its module is missing).
    pub fn not_started(&self, label: &RunLabel, schedule: &str, reason: &str) {
        if self.text() {
            err(format_args!("[jobs] {label} failed: {reason}"));
        } else {
            emit!(
                tracing::Level::ERROR,
                event = "failed",
                job = label.job.as_str(),
                tenant = label.tenant.as_deref(),
                schedule,
                error = reason,
                message = format!("{label} failed: {reason}")
            );
        }
    }

    pub fn skipped(&self, label: &RunLabel, schedule: &str) {
        if self.text() {
            err(format_args!(
                "[jobs] skipping {label}; previous run is still active (overlap policy: skip)"
            ));
        } else {
            emit!(
                tracing::Level::WARN,
                event = "skipped",
                job = label.job.as_str(),
                tenant = label.tenant.as_deref(),
                schedule,
                message = format!(
                    "skipping {label}; previous run is still active (overlap policy: skip)"
                )
            );
        }
    }

    /// One line the job printed.
    pub fn output(&self, label: &RunLabel, stream: Stream, line: &str) {
        if self.text() {
            let prefix = label.output_prefix();
            match stream {
                Stream::Stdout => out(format_args!("{prefix} {line}")),
                Stream::Stderr => err(format_args!("{prefix} {line}")),
            }
        } else {
            emit!(
                tracing::Level::INFO,
                event = "output",
                job = label.job.as_str(),
                tenant = label.tenant.as_deref(),
                stream = stream.as_str(),
                message = line
            );
        }
    }

    /// `--job` named a job the manifest does not have.
    pub fn not_found(&self, name: &str, suggestion: Option<&str>) {
        let message = format!("job '{name}' not found");
        let hint = suggestion.map(|s| format!("did you mean '{s}'?"));
        if self.text() {
            err(format_args!("[jobs] {message}"));
            if let Some(hint) = &hint {
                err(format_args!("[jobs] {hint}"));
            }
        } else {
            emit!(
                tracing::Level::ERROR,
                event = "not-found",
                job = name,
                suggestion,
                message = match &hint {
                    Some(hint) => format!("{message}; {hint}"),
                    None => message.clone(),
                }
            );
        }
    }

    pub fn watching(&self, jobs: &[&str]) {
        let names = jobs.join(", ");
        if self.text() {
            out(format_args!("[jobs] watching jobs: {names}"));
        } else {
            emit!(
                tracing::Level::INFO,
                event = "watching",
                message = format!("watching jobs: {names}")
            );
        }
    }

    /// A note about the run as a whole (for example a job left out of the watch).
    pub fn notice(&self, event: &'static str, job: Option<&str>, message: &str) {
        if self.text() {
            err(format_args!("[jobs] {message}"));
        } else {
            emit!(tracing::Level::WARN, event, job, message);
        }
    }

    pub fn reboot_done(&self) {
        const MESSAGE: &str = "completed @reboot jobs and exiting.";
        if self.text() {
            out(format_args!("[jobs] {MESSAGE}"));
        } else {
            emit!(tracing::Level::INFO, event = "exiting", message = MESSAGE);
        }
    }

    pub fn stopped_watch(&self, signal: &str, timers: usize) {
        let message = format!("received {signal}; stopped {timers} scheduled job timer(s).");
        if self.text() {
            out(format_args!("[jobs] {message}"));
        } else {
            emit!(tracing::Level::INFO, event = "signal", signal, message);
        }
    }

    pub fn stopping_runs(&self, signal: &str) {
        let message = format!("received {signal}; stopping the running job.");
        if self.text() {
            err(format_args!("[jobs] {message}"));
        } else {
            emit!(tracing::Level::WARN, event = "signal", signal, message);
        }
    }

    /// A second signal while stopping: no more grace.
    pub fn killing_runs(&self, signal: &str) {
        let message = format!("received {signal} again; killing running jobs now.");
        if self.text() {
            err(format_args!("[jobs] {message}"));
        } else {
            emit!(tracing::Level::WARN, event = "signal", signal, message);
        }
    }

    /// The end of a run of several jobs in which some failed.
    pub fn summary(&self, failed: &[String], total: usize) {
        let message = format!(
            "{} of {total} job run(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
        if self.text() {
            err(format_args!("[jobs] {message}"));
        } else {
            emit!(tracing::Level::ERROR, event = "summary", message);
        }
    }
}

fn out(line: fmt::Arguments<'_>) {
    // A closed stdout must not stop the scheduler supervising its children.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn err(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn install_json_layer() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(JsonLines);
        // Fails only when a subscriber is already installed, which then receives the events.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Writes each scheduler event as one JSON object on stdout, with the field names documented
/// in docs/scheduler.md.
struct JsonLines;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for JsonLines {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut fields = JsonFields(vec![
            (
                "time",
                chrono::Utc::now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    .into(),
            ),
            (
                "level",
                event
                    .metadata()
                    .level()
                    .as_str()
                    .to_ascii_lowercase()
                    .into(),
            ),
        ]);
        event.record(&mut fields);
        // Written by hand to keep `time` and `level` first, in the order fields were given.
        let mut line = String::from("{");
        for (i, (name, value)) in fields.0.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&serde_json::Value::from(*name).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        }
        line.push('}');
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

struct JsonFields(Vec<(&'static str, serde_json::Value)>);

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), value.into()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}").into()));
    }
}
