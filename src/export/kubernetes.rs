//! Kubernetes: one `batch/v1` CronJob per job and schedule, always with `spec.timeZone`, so a
//! job never fires in whatever zone the cluster's controller happens to run in.

use serde::Serialize;

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
                concurrency: "Forbid",
                starting_deadline: DEFAULT_STARTING_DEADLINE,
                backoff_limit: 0,
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
