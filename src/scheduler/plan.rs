//! From manifest entries to runnable jobs: parsed schedules, the time zone, the time limit
//! and the tenants of each job; and finding jobs by name.

use std::time::Duration;

use chrono_tz::Tz;

use super::SchedulerError;
use crate::jobs::canonical_key;
use crate::jobs::name::check_unsafe;
use crate::manifest::JobSpec;
use crate::manifest::policy::{Policies, PolicySpec, RunnerKind, Tenants};
use crate::schedule::{self, Schedule};

/// A job ready to run.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    pub spec: JobSpec,
    pub schedules: Vec<Schedule>,
    /// The zone its cron and macro schedules are evaluated in.
    pub tz: Tz,
    pub timeout: Option<Duration>,
    /// Whom it runs for: no tenant, a list, or the tenant provider's list at each fire.
    pub tenants: Tenants,
    /// The policies its runs follow: the job's, else webstir.toml's, else the defaults.
    pub policies: Policies,
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
    /// Policies from webstir.toml, for jobs that do not set their own.
    pub policies: PolicySpec,
    /// `--no-retry`: one attempt per run, whatever the policies say.
    pub no_retry: bool,
    /// `--runner`: wins over the job's own `runner` and webstir.toml's.
    pub runner_override: Option<RunnerKind>,
}

/// Plans every job of a manifest that [`Manifest::require_valid`] accepted: its values were
/// checked when it was read, so only the time zone is left to resolve.
///
/// [`Manifest::require_valid`]: crate::manifest::Manifest::require_valid
pub fn plan(jobs: &[JobSpec], options: &PlanOptions) -> Result<Vec<PlannedJob>, SchedulerError> {
    plan_jobs(jobs.to_vec(), options)
}

/// [`plan`], taking the jobs rather than copying them.
pub fn plan_jobs(
    jobs: Vec<JobSpec>,
    options: &PlanOptions,
) -> Result<Vec<PlannedJob>, SchedulerError> {
    let mut zones = schedule::Zones::new(options.timezone.as_deref());
    let mut planned = Vec::with_capacity(jobs.len());
    for spec in jobs {
        let tz = zones
            .resolve(&spec.timezone)
            .map_err(|e| SchedulerError::InvalidJob {
                job: spec.name.clone(),
                message: e.to_string(),
            })?;
        planned.push(plan_one(spec, tz, options));
    }
    Ok(planned)
}

fn plan_one(spec: JobSpec, tz: Tz, options: &PlanOptions) -> PlannedJob {
    let tenants = match &options.tenants {
        Some(ids) if !ids.is_empty() => Tenants::Static(ids.clone()),
        Some(_) => Tenants::None,
        None => spec.tenants.clone(),
    };
    let mut policies = spec.policies.resolve(&options.policies);
    if options.no_retry {
        policies.retry = None;
    }
    if let Some(runner) = options.runner_override {
        policies.runner = runner;
    }
    PlannedJob {
        schedules: spec.parsed.clone(),
        tz,
        timeout: options
            .timeout_override
            .or(spec.timeout)
            .or(options.default_timeout),
        tenants,
        policies,
        spec,
    }
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
            check_unsafe(name).map_err(|rule| SchedulerError::NotAJobName {
                name: name.clone(),
                rule,
            })?;
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
