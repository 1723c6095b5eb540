//! `webstir export`: the manifest's jobs as definitions for the schedulers teams already run.
//! Every target runs a job as `scheduler --job <name>` (the generated scheduler exits non-zero
//! when the job fails) and translates the job's schedules, time zone and policies into the
//! target's own terms. One file per target; `dialect` holds the cron-field rendering they share.
//!
//! A schedule a target cannot express is never approximated: it is reported as unsupported,
//! and nothing is written unless the caller chose to skip it.

mod cloud_scheduler;
mod crontab;
mod dialect;
mod eventbridge;
mod github_actions;
mod kubernetes;
mod output;
mod systemd;
mod temporal;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

pub use output::{OutputFile, WrittenFiles, write_files};

use crate::manifest::policy::Policies;
use crate::schedule::Schedule;
use crate::scheduler::PlannedJob;

/// Where the definitions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// `batch/v1` CronJobs, one per job and schedule (needs --image)
    Kubernetes,
    /// A `.service` and a `.timer` per job
    Systemd,
    /// crontab lines grouped by `CRON_TZ=`
    Crontab,
    /// A CloudFormation template of `AWS::Scheduler::Schedule` resources
    Eventbridge,
    /// A GitHub Actions workflow with `on.schedule` and `workflow_dispatch`
    GithubActions,
    /// A shell script of `gcloud scheduler jobs create http` commands
    CloudScheduler,
    /// A shell script of `temporal schedule create` commands
    Temporal,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Kubernetes => "kubernetes",
            Target::Systemd => "systemd",
            Target::Crontab => "crontab",
            Target::Eventbridge => "eventbridge",
            Target::GithubActions => "github-actions",
            Target::CloudScheduler => "cloud-scheduler",
            Target::Temporal => "temporal",
        }
    }

    /// The product's own name, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Target::Kubernetes => "Kubernetes",
            Target::Systemd => "systemd",
            Target::Crontab => "crontab",
            Target::Eventbridge => "EventBridge",
            Target::GithubActions => "GitHub Actions",
            Target::CloudScheduler => "Cloud Scheduler",
            Target::Temporal => "Temporal",
        }
    }

    /// Whether the target is one file, which may go to stdout.
    pub fn is_single_file(self) -> bool {
        self != Target::Systemd
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}", unsupported_message(.target, .items))]
    Unsupported {
        target: Target,
        items: Vec<Unsupported>,
    },
    #[error("--out `{}`: {reason}", .path.display())]
    BadOut { path: PathBuf, reason: String },
    #[error("could not write `{}`: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
}

impl ExportError {
    /// Whether the error is the user's input rather than a failure to write (exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, ExportError::BadOut { .. })
    }
}

fn unsupported_message(target: &Target, items: &[Unsupported]) -> String {
    let mut message = format!(
        "{} of the selected schedules cannot be exported to {target}; nothing was written \
         (pass --skip-unsupported to export the rest):",
        items.len()
    );
    for item in items {
        message.push_str(&format!("\n  {item}"));
    }
    message
}

/// A schedule (or a whole job) a target cannot express.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unsupported {
    pub job: String,
    pub schedule: String,
    pub target: Target,
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job `{}`, schedule `{}`: {}",
            self.job, self.schedule, self.reason
        )
    }
}

/// A policy a target cannot express; the export goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub job: String,
    pub policy: &'static str,
    pub target: Target,
    pub reason: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job `{}`: {} cannot express policy `{}`: {}",
            self.job, self.target, self.policy, self.reason
        )
    }
}

impl serde::Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One job as every target sees it: its effective zone and time limit come from the planner,
/// so an export fires in exactly the zone `webstir scheduler` fires in.
#[derive(Debug, Clone)]
pub struct ExportJob {
    pub name: String,
    pub description: Option<String>,
    pub tz: Tz,
    pub schedules: Vec<Schedule>,
    pub timeout: Option<Duration>,
    /// Effective policies: the job's, else webstir.toml's, else the defaults.
    pub policies: Policies,
}

impl From<&PlannedJob> for ExportJob {
    fn from(job: &PlannedJob) -> ExportJob {
        ExportJob {
            name: job.spec.name.clone(),
            description: job.spec.description.clone(),
            tz: job.tz,
            schedules: job.schedules.clone(),
            timeout: job.timeout,
            policies: job.policies.clone(),
        }
    }
}

/// Everything besides the jobs that shapes the output.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub target: Target,
    /// The workspace folder, absolute: where host targets `cd` and find the scheduler.
    pub workspace: PathBuf,
    /// package.json's `name`, used to keep unit and resource names apart across workspaces.
    pub package_name: Option<String>,
    /// Kubernetes: the container image (required there).
    pub image: Option<String>,
    pub namespace: Option<String>,
    /// Kubernetes: the container's entry point, the scheduler inside the image.
    pub command: Option<String>,
    /// systemd: user units instead of system units.
    pub user: bool,
    pub skip_unsupported: bool,
}

impl ExportOptions {
    /// What unit, job and resource names start with: the package's name in DNS form, so that
    /// two workspaces' exports on one host or project stay apart.
    pub fn name_prefix(&self) -> String {
        self.package_name
            .as_deref()
            .map_or_else(|| "webstir".to_owned(), |name| dns_name(name, 40))
    }

    /// The first lines of a generated shell script: the shebang and what wrote it, for which
    /// package, ending in a full stop and without a newline.
    pub fn script_header(&self) -> String {
        let mut header = format!(
            "#!/bin/sh\n# Generated by `webstir export --target {}`",
            self.target.as_str()
        );
        if let Some(name) = &self.package_name {
            header.push_str(&format!(" for {}", one_line(name)));
        }
        header.push('.');
        header
    }
}

/// The scheduler inside the image that docs/export.md shows how to build.
pub const DEFAULT_CONTAINER_COMMAND: &str = "/app/build/backend/jobs/scheduler";

/// What an export produced.
#[derive(Debug, Default)]
pub struct Export {
    pub files: Vec<OutputFile>,
    pub warnings: Vec<Warning>,
    /// Schedules left out with --skip-unsupported.
    pub skipped: Vec<Unsupported>,
}

/// Collects what each target could not express while it renders.
#[derive(Debug)]
pub(crate) struct Report {
    target: Target,
    warnings: Vec<Warning>,
    unsupported: Vec<Unsupported>,
}

impl Report {
    fn new(target: Target) -> Report {
        Report {
            target,
            warnings: Vec::new(),
            unsupported: Vec::new(),
        }
    }

    pub(crate) fn unsupported(&mut self, job: &ExportJob, schedule: &str, reason: String) {
        self.unsupported.push(Unsupported {
            job: job.name.clone(),
            schedule: schedule.to_owned(),
            target: self.target,
            reason,
        });
    }

    pub(crate) fn warn(&mut self, job: &ExportJob, policy: &'static str, reason: &str) {
        self.warnings.push(Warning {
            job: job.name.clone(),
            policy,
            target: self.target,
            reason: reason.to_owned(),
        });
    }
}

/// Renders `jobs` for `options.target`. Fails without output when any schedule is unsupported,
/// unless `skip_unsupported` is set.
pub fn export(jobs: &[ExportJob], options: &ExportOptions) -> Result<Export, ExportError> {
    let mut report = Report::new(options.target);
    let files = match options.target {
        Target::Kubernetes => kubernetes::render(jobs, options, &mut report)?,
        Target::Systemd => systemd::render(jobs, options, &mut report)?,
        Target::Crontab => crontab::render(jobs, options, &mut report)?,
        Target::Eventbridge => eventbridge::render(jobs, options, &mut report)?,
        Target::GithubActions => github_actions::render(jobs, options, &mut report)?,
        Target::CloudScheduler => cloud_scheduler::render(jobs, options, &mut report)?,
        Target::Temporal => temporal::render(jobs, options, &mut report)?,
    };
    // A job none of whose schedules exported is not in the output: its policies do not matter.
    let left_out = |name: &str| {
        jobs.iter().any(|job| {
            job.name == name
                && !job.schedules.is_empty()
                && report.unsupported.iter().filter(|u| u.job == name).count()
                    == job.schedules.len()
        })
    };
    let warnings: Vec<Warning> = report
        .warnings
        .iter()
        .filter(|w| !left_out(&w.job))
        .cloned()
        .collect();
    if !report.unsupported.is_empty() && !options.skip_unsupported {
        return Err(ExportError::Unsupported {
            target: options.target,
            items: report.unsupported,
        });
    }
    Ok(Export {
        files,
        warnings,
        skipped: report.unsupported,
    })
}

/// A name that is DNS-1123 (lowercase letters, digits and `-`, starting and ending with a
/// letter or digit) and at most `max` characters: `send_daily_reports` → `send-daily-reports`.
pub(crate) fn dns_name(name: &str, max: usize) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(max).collect();
    let trimmed = trimmed.trim_end_matches('-').to_owned();
    if trimmed.is_empty() {
        "job".to_owned()
    } else {
        trimmed
    }
}

/// `name` as a DNS-1123 label (at most 63 characters): equal to `name` exactly when `name`
/// already is one.
pub fn dns_label(name: &str) -> String {
    dns_name(name, 63)
}

/// Makes `name` unique among `taken` (at most `max` characters) by a numeric suffix.
pub(crate) fn unique_name(name: String, taken: &mut Vec<String>, max: usize) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        let suffix = format!("-{n}");
        let keep = max.saturating_sub(suffix.len());
        let base: String = name.chars().take(keep).collect();
        candidate = format!("{}{suffix}", base.trim_end_matches('-'));
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// Whole seconds, rounded up, so a limit is never shorter than the manifest's.
pub(crate) fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// A string as a double-quoted YAML scalar: JSON string syntax is valid YAML.
pub(crate) fn yaml_str(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serializes")
}

/// Text for a comment or a description: one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A string as one single-quoted POSIX shell word.
pub(crate) fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:@=,+".contains(&b))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_are_lowercase_hyphenated_and_bounded() {
        assert_eq!(dns_name("send_daily_reports", 52), "send-daily-reports");
        assert_eq!(dns_name("a__b--c", 52), "a-b-c");
        assert_eq!(dns_name(&"x".repeat(80), 52).len(), 52);
        assert_eq!(dns_name("ab_cd", 3), "ab");
    }

    #[test]
    fn unique_names_get_a_suffix_within_the_limit() {
        let mut taken = Vec::new();
        assert_eq!(unique_name("abc".into(), &mut taken, 4), "abc");
        assert_eq!(unique_name("abc".into(), &mut taken, 4), "ab-2");
    }

    #[test]
    fn shell_words_quote_what_the_shell_would_read() {
        assert_eq!(shell_word("/srv/app"), "/srv/app");
        assert_eq!(shell_word("it's here"), r"'it'\''s here'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }
}
