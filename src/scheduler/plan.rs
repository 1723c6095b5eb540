//! From manifest entries to runnable jobs: parsed schedules, the time zone, the time limit
//! and the tenants of each job; and finding jobs by name.

use std::time::Duration;

use chrono_tz::Tz;

use super::SchedulerError;
use crate::jobs::canonical_key;
use crate::manifest::JobSpec;
use crate::schedule::{self, Schedule};

/// A job ready to run.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    pub spec: JobSpec,
    pub schedules: Vec<Schedule>,
    /// The zone its cron and macro schedules are evaluated in.
    pub tz: Tz,
    pub timeout: Option<Duration>,
    /// One run per tenant; empty means a single run without a tenant.
    pub tenants: Vec<String>,
}

/// What the command line and `webstir.toml` add to the manifest.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--timeout`: wins over the job's own `timeout`.
    pub timeout_override: Option<Duration>,
    /// `timeout` in webstir.toml: used when the job has none.
    pub default_timeout: Option<Duration>,
    /// `--timezone` or `timezone` in webstir.toml: used when the job has none.
    pub timezone: Option<String>,
    /// `--tenants`: replaces the jobs' own tenants.
    pub tenants: Option<Vec<String>>,
}

/// Plans every job of the manifest.
pub fn plan(jobs: &[JobSpec], options: &PlanOptions) -> Result<Vec<PlannedJob>, SchedulerError> {
    jobs.iter().map(|spec| plan_one(spec, options)).collect()
}

fn plan_one(spec: &JobSpec, options: &PlanOptions) -> Result<PlannedJob, SchedulerError> {
    let schedules = spec
        .schedules
        .iter()
        .map(|s| {
            Schedule::parse(s).map_err(|e| SchedulerError::InvalidJob {
                job: spec.name.clone(),
                message: format!("schedule `{s}`: {e}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tz = schedule::resolve_timezone(spec.timezone.as_deref(), options.timezone.as_deref())
        .map_err(|e| SchedulerError::InvalidJob {
            job: spec.name.clone(),
            message: e.to_string(),
        })?;
    let own_timeout = spec
        .timeout
        .as_deref()
        .map(|t| {
            crate::settings::parse_duration(t).map_err(|reason| SchedulerError::InvalidJob {
                job: spec.name.clone(),
                message: format!("`timeout` `{t}`: {reason}"),
            })
        })
        .transpose()?;
    Ok(PlannedJob {
        spec: spec.clone(),
        schedules,
        tz,
        timeout: options
            .timeout_override
            .or(own_timeout)
            .or(options.default_timeout),
        tenants: options
            .tenants
            .clone()
            .unwrap_or_else(|| spec.tenants.clone()),
    })
}

/// Finds the jobs named in `names`, matched the way add-job normalizes names, in the order
/// given; a name that matches nothing fails with the closest name suggested.
pub fn select<'a>(
    jobs: &'a [PlannedJob],
    names: &[String],
) -> Result<Vec<&'a PlannedJob>, SchedulerError> {
    names
        .iter()
        .map(|name| {
            let key = canonical_key(name);
            jobs.iter()
                .find(|j| canonical_key(&j.spec.name) == key)
                .ok_or_else(|| SchedulerError::JobNotFound {
                    name: name.clone(),
                    suggestion: closest(jobs, &key),
                })
        })
        .collect()
}

fn closest(jobs: &[PlannedJob], key: &str) -> Option<String> {
    crate::jobs::closest(jobs.iter().map(|j| j.spec.name.as_str()), key).map(str::to_owned)
}
