//! Temporal: a shell script of `temporal schedule create` commands, one schedule per job with
//! all of its crons (`--cron`) and rates (`--interval`). Each starts a workflow on a task queue
//! the user supplies, whose worker runs `scheduler --job <name>` for the workflow's input.

use super::dialect::five_fields;
use super::{
    ExportError, ExportJob, ExportOptions, OutputFile, Report, Target, ceil_secs, dns_name,
    one_line, shell_word, unique_name,
};
use crate::manifest::policy::Overlap;
use crate::schedule::{DayRule, ScheduleKind};

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
         # Creates one Temporal schedule per webstir job. Each starts a workflow of type\n\
         # TEMPORAL_WORKFLOW_TYPE (default WebstirJob) on TEMPORAL_TASK_QUEUE with the job's\n\
         # name as input: a worker you run there executes `scheduler --job <name>` and fails\n\
         # the workflow when it exits non-zero. The temporal CLI's usual environment\n\
         # (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...) picks the cluster.\n\
         # Usage: TEMPORAL_TASK_QUEUE=webstir-jobs sh <this file>\n\
         set -eu\n\
         : \"${TEMPORAL_TASK_QUEUE:?set TEMPORAL_TASK_QUEUE to the task queue your worker polls}\"\n\
         TEMPORAL_WORKFLOW_TYPE=\"${TEMPORAL_WORKFLOW_TYPE:-WebstirJob}\"\n",
    );
    for job in jobs {
        let mut specs = Vec::new();
        let mut sources = Vec::new();
        for schedule in &job.schedules {
            let spec = match schedule.kind() {
                ScheduleKind::Rate => {
                    let secs = ceil_secs(schedule.interval().expect("a rate has an interval"));
                    Ok(format!("--interval {secs}s"))
                }
                _ if schedule
                    .cron()
                    .is_some_and(|c| c.day_rule() == DayRule::Either) =>
                {
                    Err(
                        "the job runs on the listed days of the month or the listed weekdays, \
                         and a Temporal calendar must match every field"
                            .to_owned(),
                    )
                }
                _ => five_fields(schedule, Target::Temporal)
                    .map(|fields| format!("--cron {}", shell_word(&fields.join(" ")))),
            };
            match spec {
                Ok(spec) => {
                    specs.push(spec);
                    sources.push(one_line(schedule.source()));
                }
                Err(reason) => report.unsupported(job, schedule.source(), reason),
            }
        }
        if specs.is_empty() {
            continue;
        }
        let id = unique_name(
            format!("{prefix}-{}", dns_name(&job.name, 200)),
            &mut taken,
            200,
        );
        out.push_str(&format!(
            "\n# {}: {}\ntemporal schedule create \\\n  --schedule-id {id} \\\n",
            job.name,
            sources.join(", ")
        ));
        for spec in specs {
            out.push_str(&format!("  {spec} \\\n"));
        }
        out.push_str(&format!(
            "  --time-zone {} \\\n  --overlap-policy {} \\\n  --workflow-id {id} \\\n  --task-queue \"$TEMPORAL_TASK_QUEUE\" \\\n  --type \"$TEMPORAL_WORKFLOW_TYPE\" \\\n  --input {}",
            shell_word(job.tz.name()),
            overlap_policy(job.policies.overlap),
            shell_word(&serde_json::Value::String(job.name.clone()).to_string()),
        ));
        // Temporal catches up missed fires for a year by default; webstir only within the
        // window, if any (10s is Temporal's smallest window).
        let catch_up = job.policies.catch_up.map_or(10, |w| ceil_secs(w).max(10));
        out.push_str(&format!(" \\\n  --catchup-window {catch_up}s"));
        if let Some(jitter) = job.policies.jitter {
            out.push_str(&format!(" \\\n  --jitter {}s", ceil_secs(jitter)));
        }
        if job.policies.retry.as_ref().is_some_and(|r| r.attempts > 1) {
            report.warn(
                job,
                "retry",
                "a schedule starts a workflow once per fire; give the worker's activity a \
                 retry policy instead",
            );
        }
        if let Some(timeout) = job.timeout {
            out.push_str(&format!(
                " \\\n  --execution-timeout {}s",
                ceil_secs(timeout)
            ));
        }
        out.push('\n');
    }
    Ok(vec![OutputFile {
        name: "temporal-schedules.sh".to_owned(),
        contents: out,
        executable: true,
    }])
}

/// Temporal's name for an overlap policy; `replace` cancels the running workflow, which
/// gives it the chance to stop cleanly that webstir's grace period gives a run.
fn overlap_policy(overlap: Overlap) -> &'static str {
    match overlap {
        Overlap::Skip => "Skip",
        Overlap::Allow => "AllowAll",
        Overlap::Queue => "BufferOne",
        Overlap::Replace => "CancelOther",
    }
}
