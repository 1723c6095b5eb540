//! Kubernetes: one `batch/v1` CronJob per job and schedule, always with `spec.timeZone`, so a
//! job never fires in whatever zone the cluster's controller happens to run in.

use serde::Serialize;

use std::time::Duration;

use crate::manifest::policy::{Backoff, Overlap};

/// The Job controller's first retry delay, which then doubles.
const JOB_BACKOFF: Duration = Duration::from_secs(10);

use super::dialect::five_fields;
use super::{
    DEFAULT_CONTAINER_COMMAND, ExportError, ExportJob, ExportOptions, OutputFile, Report, Target,
    ceil_secs, dns_name, one_line, unique_name, yaml_str,
};

/// CronJob names leave room for the 11 characters the controller appends to its Jobs.
const MAX_NAME: usize = 52;

/// When no `catchUp` says otherwise: a run that could not start within this many seconds of
/// its time is skipped, as webstir's own scheduler skips a missed run.
const DEFAULT_STARTING_DEADLINE: u64 = 60;

#[derive(Serialize)]
struct Data {
    package: Option<String>,
    namespace: Option<String>,
    image: String,
    command: String,
    cronjobs: Vec<CronJob>,
}

#[derive(Serialize)]
struct CronJob {
    name: String,
    job: String,
    job_quoted: String,
    label: String,
    source: String,
    description: Option<String>,
    schedule: String,
    time_zone: String,
    concurrency: &'static str,
    starting_deadline: u64,
    backoff_limit: u32,
    active_deadline: Option<u64>,
}

pub fn render(
    jobs: &[ExportJob],
    options: &ExportOptions,
    report: &mut Report,
) -> Result<Vec<OutputFile>, ExportError> {
    let mut taken = Vec::new();
    let mut cronjobs = Vec::new();
    for job in jobs {
        let policy = policies(job, report);
        let base = dns_name(&job.name, MAX_NAME);
        let many = job.schedules.len() > 1;
        for (i, schedule) in job.schedules.iter().enumerate() {
            let fields = match five_fields(schedule, Target::Kubernetes) {
                Ok(fields) => fields,
                Err(reason) => {
                    report.unsupported(job, schedule.source(), reason);
                    continue;
                }
            };
            let name = if many {
                let suffix = format!("-{}", i + 1);
                let stem = dns_name(&job.name, MAX_NAME - suffix.len());
                format!("{stem}{suffix}")
            } else {
                base.clone()
            };
            cronjobs.push(CronJob {
                name: unique_name(name, &mut taken, MAX_NAME),
                job: job.name.clone(),
                job_quoted: yaml_str(&job.name),
                label: label_value(&job.name),
                source: one_line(schedule.source()),
                description: job.description.as_deref().map(one_line),
                schedule: yaml_str(&fields.join(" ")),
                time_zone: yaml_str(job.tz.name()),
                concurrency: policy.concurrency,
                starting_deadline: policy.starting_deadline,
                backoff_limit: policy.backoff_limit,
                active_deadline: job.timeout.map(ceil_secs),
            });
        }
    }
    let data = Data {
        package: options.package_name.as_deref().map(one_line),
        namespace: options.namespace.as_deref().map(yaml_str),
        image: yaml_str(options.image.as_deref().unwrap_or_default()),
        command: yaml_str(
            options
                .command
                .as_deref()
                .unwrap_or(DEFAULT_CONTAINER_COMMAND),
        ),
        cronjobs,
    };
    Ok(vec![OutputFile {
        name: "cronjobs.yaml".to_owned(),
        contents: crate::templates::render("export/kubernetes.yaml", &data)?,
        executable: false,
    }])
}

/// The CronJob settings a job's policies become.
struct Policy {
    concurrency: &'static str,
    starting_deadline: u64,
    backoff_limit: u32,
}

fn policies(job: &ExportJob, report: &mut Report) -> Policy {
    let p = &job.policies;
    let concurrency = match p.overlap {
        Overlap::Skip => "Forbid",
        Overlap::Allow => "Allow",
        Overlap::Replace => "Replace",
        Overlap::Queue => {
            report.warn(
                job,
                "overlap",
                "a CronJob cannot queue a run behind the running one; exported as `Forbid`, \
                 which skips it",
            );
            "Forbid"
        }
    };
    if p.jitter.is_some() {
        report.warn(job, "jitter", "a CronJob has no random start delay");
    }
    if let Some(retry) = p.retry.as_ref().filter(|r| r.attempts > 1)
        && !(retry.backoff == Backoff::Exponential && retry.delay == JOB_BACKOFF)
    {
        report.warn(
            job,
            "retry",
            &format!(
                "the Job controller retries {} times but waits 10s, 20s, 40s... (up to 6m) \
                 between attempts, not {retry}",
                retry.attempts - 1
            ),
        );
    }
    Policy {
        concurrency,
        // A run missed by more than its catch-up window (or at all, without one) is skipped.
        starting_deadline: p
            .catch_up
            .map_or(DEFAULT_STARTING_DEADLINE, |w| ceil_secs(w).max(10)),
        // The Job controller retries failed pods itself, with its own backoff (10s doubling);
        // the container then runs `--no-retry`, or every pod would retry again.
        backoff_limit: p.attempts().saturating_sub(1),
    }
}

/// The job's name when it is a valid label value (at most 63 characters, ending in a letter
/// or digit), else its DNS form.
fn label_value(name: &str) -> String {
    let valid = name.len() <= 63 && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        name.to_owned()
    } else {
        dns_name(name, 63)
    }
}
