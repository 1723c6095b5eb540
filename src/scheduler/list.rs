//! `--list` and `--json`: what the scheduler would run, with the next fire time of cron and
//! macro schedules.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::plan::PlannedJob;
use crate::manifest::Priority;
use crate::manifest::policy::{Policies, Tenants};
use crate::schedule;

/// One job as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEntry {
    pub name: String,
    /// The job's schedule as the manifest has it: a string, an array of strings, or null for a
    /// manual job.
    pub schedule: serde_json::Value,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    /// The time zone cron and macro schedules are evaluated in.
    pub timezone: String,
    pub timeout: Option<String>,
    /// `[]`, the tenant ids, or `"dynamic"`.
    pub tenants: Tenants,
    /// The effective policies: overlap, retry, jitter, catchUp, tenantConcurrency, runner.
    #[serde(flatten)]
    pub policies: Policies,
    /// The earliest next fire time of the job's cron and macro schedules (RFC 3339, in the
    /// job's zone).
    pub next_run: Option<String>,
}

impl ListEntry {
    /// `- <name> (<schedules>|manual) — <description> (next run: <time>)`
    pub fn line(&self) -> String {
        let schedules = match &self.schedule {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => "manual".to_owned(),
        };
        let mut line = format!("- {} ({schedules})", self.name);
        if let Some(description) = &self.description {
            line.push_str(" — ");
            line.push_str(description);
        }
        if let Some(next) = &self.next_run {
            line.push_str(&format!(" (next run: {next})"));
        }
        line
    }
}

/// Writes the `--list` line of each job (the line [`ListEntry::line`] makes) straight from the
/// planned jobs, without making their entries: a list of thousands of jobs names a handful of
/// schedules and zones, and the next run of each pair is worked out once.
pub fn write_lines(
    out: &mut impl Write,
    jobs: &[PlannedJob],
    now: DateTime<Utc>,
) -> io::Result<()> {
    let mut next_runs: HashMap<(&[String], &str), Option<String>> = HashMap::new();
    for job in jobs {
        let spec = &job.spec;
        out.write_all(b"- ")?;
        out.write_all(spec.name.as_bytes())?;
        out.write_all(b" (")?;
        match spec.schedules.as_slice() {
            [] => out.write_all(b"manual")?,
            [first, rest @ ..] => {
                out.write_all(first.as_bytes())?;
                for schedule in rest {
                    out.write_all(b", ")?;
                    out.write_all(schedule.as_bytes())?;
                }
            }
        }
        out.write_all(b")")?;
        if let Some(description) = &spec.description {
            out.write_all(" — ".as_bytes())?;
            out.write_all(description.as_bytes())?;
        }
        let next_run = next_runs
            .entry((spec.schedules.as_slice(), job.tz.name()))
            .or_insert_with(|| {
                schedule::next_wall_clock_fire(&job.schedules, now, job.tz)
                    .map(|t| schedule::format_instant(&t))
            });
        if let Some(next) = next_run {
            out.write_all(b" (next run: ")?;
            out.write_all(next.as_bytes())?;
            out.write_all(b")")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The entries of `jobs` as of `now`.
pub fn entries(jobs: &[PlannedJob], now: DateTime<Utc>) -> Vec<ListEntry> {
    jobs.iter().map(|job| entry(job, now)).collect()
}

fn entry(job: &PlannedJob, now: DateTime<Utc>) -> ListEntry {
    let spec = &job.spec;
    let schedule = match spec.schedules.as_slice() {
        [] => serde_json::Value::Null,
        [one] => one.clone().into(),
        many => many.to_vec().into(),
    };
    let next_run = schedule::next_wall_clock_fire(&job.schedules, now, job.tz)
        .map(|t| schedule::format_instant(&t));
    ListEntry {
        name: spec.name.clone(),
        schedule,
        description: spec.description.clone(),
        priority: spec.priority.clone(),
        timezone: job.tz.name().to_owned(),
        timeout: job
            .timeout
            .map(|d| humantime::format_duration(d).to_string()),
        tenants: job.tenants.clone(),
        policies: job.policies.clone(),
        next_run,
    }
}
