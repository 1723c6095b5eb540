//! Google Cloud Scheduler: a shell script of `gcloud scheduler jobs create http` commands, one
//! per job and schedule. Cloud Scheduler calls a URL; the user supplies the endpoint that runs
//! `scheduler --job <name>` for the job named in the request body.

use super::dialect::five_fields;
use super::{
    ExportError, ExportJob, ExportOptions, OutputFile, Report, Target, ceil_secs, dns_name,
    one_line, shell_word, unique_name,
};
use crate::manifest::policy::{Backoff, Overlap};

/// Cloud Scheduler's limit on a backoff.
const MAX_BACKOFF_SECS: u64 = 3600;

/// Warns about the policies Cloud Scheduler has no setting for, and gives the flags of `retry`:
/// Cloud Scheduler retries when the endpoint answers with an error, with a backoff that
/// doubles `--max-doublings` times from `--min-backoff` up to `--max-backoff`.
fn retry_flags(job: &ExportJob, report: &mut Report) -> String {
    let p = &job.policies;
    if p.overlap != Overlap::Allow {
        report.warn(
            job,
            "overlap",
            "Cloud Scheduler calls the endpoint at every fire, even while a run is going",
        );
    }
    if p.jitter.is_some() {
        report.warn(job, "jitter", "Cloud Scheduler has no random start delay");
    }
    if p.catch_up.is_some() {
        report.warn(
            job,
            "catchUp",
            "Cloud Scheduler never runs a fire it missed",
        );
    }
    let Some(retry) = p.retry.as_ref().filter(|r| r.attempts > 1) else {
        return String::new();
    };
    let min = ceil_secs(retry.delay).min(MAX_BACKOFF_SECS);
    let (doublings, max) = match retry.backoff {
        Backoff::Fixed => (0, min),
        Backoff::Exponential => {
            let last = retry.delay_after(retry.attempts - 1);
            (retry.attempts, ceil_secs(last).clamp(min, MAX_BACKOFF_SECS))
        }
    };
    if ceil_secs(retry.delay) > MAX_BACKOFF_SECS
        || retry
            .max_delay
            .is_some_and(|d| ceil_secs(d) > MAX_BACKOFF_SECS)
    {
        report.warn(
            job,
            "retry",
            "Cloud Scheduler waits at most an hour between attempts; longer delays are cut to 1h",
        );
    }
    format!(
        " \\\n  --max-retry-attempts={} \\\n  --min-backoff={min}s \\\n  --max-backoff={max}s \\\n  --max-doublings={doublings}",
        retry.attempts - 1
    )
}

/// Cloud Scheduler's limits on an HTTP target's attempt deadline.
const DEADLINE_SECS: std::ops::RangeInclusive<u64> = 15..=1800;

pub fn render(
    jobs: &[ExportJob],
    options: &ExportOptions,
    report: &mut Report,
) -> Result<Vec<OutputFile>, ExportError> {
    let prefix = options.name_prefix();
    let mut taken = Vec::new();
    let mut out = options.script_header();
    out.push_str(
        "\n\
         # Creates one Cloud Scheduler HTTP job per webstir job and schedule. Each POSTs\n\
         # {\"job\": \"<name>\"} to WEBSTIR_ENDPOINT: a URL you operate that runs\n\
         # `scheduler --job <name>` (for example a small service in the image docs/export.md\n\
         # shows how to build) and answers with a non-2xx status when the job fails.\n\
         # Usage: WEBSTIR_ENDPOINT=https://jobs.example.com/run LOCATION=europe-west1 sh <this file>\n\
         set -eu\n\
         : \"${WEBSTIR_ENDPOINT:?set WEBSTIR_ENDPOINT to the URL that runs a job (see above)}\"\n\
         : \"${LOCATION:?set LOCATION to a Cloud Scheduler region, such as europe-west1}\"\n",
    );
    for job in jobs {
        let retry = retry_flags(job, report);
        let many = job.schedules.len() > 1;
        for (i, schedule) in job.schedules.iter().enumerate() {
            let fields = match five_fields(schedule, Target::CloudScheduler) {
                Ok(fields) => fields,
                Err(reason) => {
                    report.unsupported(job, schedule.source(), reason);
                    continue;
                }
            };
            let base = format!("{prefix}-{}", dns_name(&job.name, 200));
            let name = if many {
                format!("{base}-{}", i + 1)
            } else {
                base
            };
            let name = unique_name(name, &mut taken, 500);
            let body = serde_json::json!({ "job": job.name }).to_string();
            out.push_str(&format!(
                "\n# {}: {}\ngcloud scheduler jobs create http {name} \\\n  --location=\"$LOCATION\" \\\n  --schedule={} \\\n  --time-zone={} \\\n  --uri=\"$WEBSTIR_ENDPOINT\" \\\n  --http-method=POST \\\n  --headers=Content-Type=application/json \\\n  --message-body={}",
                job.name,
                one_line(schedule.source()),
                shell_word(&fields.join(" ")),
                shell_word(job.tz.name()),
                shell_word(&body),
            ));
            if let Some(timeout) = job.timeout {
                let secs = ceil_secs(timeout).max(*DEADLINE_SECS.start());
                if DEADLINE_SECS.contains(&secs) {
                    out.push_str(&format!(" \\\n  --attempt-deadline={secs}s"));
                } else if i == 0 {
                    report.warn(
                        job,
                        "timeout",
                        "Cloud Scheduler waits at most 30 minutes for an HTTP target; the \
                         scheduler behind the endpoint still enforces the job's timeout",
                    );
                }
            }
            out.push_str(&retry);
            out.push('\n');
        }
    }
    Ok(vec![OutputFile {
        name: "cloud-scheduler.sh".to_owned(),
        contents: out,
        executable: true,
    }])
}
