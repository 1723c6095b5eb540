use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;
use serde_json::Value;

use super::Context;
use crate::Error;
use crate::manifest::inspect::{Inspection, JobReport, LastRun};
use crate::store::RunOutcome;

const AFTER_HELP: &str = "\
Examples:
  webstir backend-inspect
  webstir backend-inspect --json | jq '.jobs[].name'
  webstir --workspace ./services/billing backend-inspect

Diagnostics flag jobs without a source folder, schedules that do not parse, duplicate names and
keys the manifest schema does not allow.

Exit status: 0 no errors, 1 the manifest has errors (the report is still printed) or cannot be
read, 2 usage error.";

/// Show the workspace, its module manifest and its jobs, with diagnostics
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Print one JSON object: {workspace, manifest, jobs, diagnostics}
    #[arg(long)]
    pub json: bool,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace()?;
    let inspection = Inspection::of(&workspace, Utc::now())?;
    let has_errors = inspection.has_errors();
    if args.json {
        // Megabytes for a large manifest: written as it is made, through one buffer.
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let written = serde_json::to_writer_pretty(&mut out, &inspection)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            // As `println!` reports a failed write.
            panic!("failed printing to stdout: {e}");
        }
        // The process ends here: freeing thousands of job reports one by one would only cost
        // time.
        std::mem::forget(inspection);
        return Ok(if has_errors {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    } else {
        print!("{}", render_text(&inspection));
    }
    Ok(if inspection.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn render_text(inspection: &Inspection) -> String {
    let mut out = String::new();
    let ws = &inspection.workspace;
    out.push_str(&format!("workspace: {}\n", ws.name));
    out.push_str(&format!("mode: {}\n", ws.mode.as_deref().unwrap_or("none")));
    out.push_str(&format!("root: {}\n", ws.root));
    out.push_str(&render_manifest(&inspection.manifest.value()));
    out.push_str(&format!("jobs: {}\n", inspection.jobs.len()));
    for job in &inspection.jobs {
        out.push_str(&format!("  - {}\n", render_job(job)));
        // Its own line, so the job's line reads the same whatever the clock says.
        if let Some(next) = &job.next_run {
            out.push_str(&format!("    next run: {next}\n"));
        }
        if let Some(last) = &job.last_run {
            out.push_str(&format!("    last run: {}\n", render_last_run(last)));
        }
    }
    if inspection.diagnostics.is_empty() {
        out.push_str("diagnostics: none\n");
    } else {
        out.push_str(&format!("diagnostics: {}\n", inspection.diagnostics.len()));
        for diagnostic in &inspection.diagnostics {
            out.push_str(&format!("  {diagnostic}\n"));
        }
    }
    out
}

fn render_manifest(manifest: &Value) -> String {
    let Value::Object(fields) = manifest else {
        return "manifest: none (`webstir add-job <name>` creates one)\n".into();
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    let mut head = ["name", "version"]
        .iter()
        .filter_map(|k| text(k))
        .collect::<Vec<_>>()
        .join(" ");
    let details: Vec<String> = [("kind", "kind"), ("contractVersion", "contract")]
        .iter()
        .filter_map(|(key, label)| text(key).map(|v| format!("{label}: {v}")))
        .collect();
    if head.is_empty() {
        head.push_str("(unnamed)");
    }
    if !details.is_empty() {
        head.push_str(&format!(" ({})", details.join(", ")));
    }
    let capabilities = match fields.get("capabilities").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    };
    format!("manifest: {head}\ncapabilities: {capabilities}\n")
}

fn render_job(job: &JobReport) -> String {
    let spec = &job.spec;
    let mut details = Vec::new();
    match spec.schedules.as_slice() {
        [] => {}
        [one] => details.push(format!("schedule: {one}")),
        many => details.push(format!("schedules: {}", many.join(" | "))),
    }
    if let Some(description) = &spec.description {
        details.push(format!("description: {}", one_line(description)));
    }
    if let Some(priority) = &spec.priority {
        details.push(format!("priority: {priority}"));
    }
    if let Some(timezone) = &spec.timezone {
        details.push(format!("timezone: {timezone}"));
    }
    if let Some(timeout) = spec.timeout {
        details.push(format!("timeout: {}", humantime::format_duration(timeout)));
    }
    if !spec.tenants.is_none() {
        details.push(format!("tenants: {}", spec.tenants));
    }
    details.extend(spec.policies.details());
    if details.is_empty() {
        spec.name.clone()
    } else {
        format!("{} ({})", spec.name, details.join(", "))
    }
}

/// `2026-12-01T06:00:00Z failed after 120ms: Error: down` (the error's first line).
fn render_last_run(last: &LastRun) -> String {
    let mut text = format!("{} {}", last.started_at, last.outcome.as_str());
    if let Some(ms) = last
        .duration_ms
        .filter(|_| last.outcome != RunOutcome::Skipped)
    {
        text.push_str(&format!(" after {ms}ms"));
    }
    if let Some(error) = last.error.as_deref().and_then(|e| e.lines().next()) {
        text.push_str(&format!(": {}", one_line(error)));
    }
    text
}

/// Keeps a job on one line of the report: control characters (a newline in a description)
/// are shown escaped.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
