//! Adding a job to a workspace: validate everything, then, under the workspace lock, scaffold
//! the job folder and append the manifest entry, undoing the folder if the manifest write fails.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::changes::{Changes, package_json_diff};
use super::scaffold::{self, Scaffold};
use super::{JobError, JobName, canonical_key};
use crate::Error;
use crate::manifest::policy::{self, Backoff, DYNAMIC_TENANTS, Overlap};
use crate::manifest::{Priority, edit, is_safe_integer};
use crate::schedule::{self, Schedule};
use crate::workspace::Workspace;

/// A job to add, every field already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub name: JobName,
    /// Stored exactly as typed; one schedule is stored as a string, several as an array.
    pub schedules: Vec<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub timezone: Option<String>,
    /// `timeout`, the policy keys and `tenants`, in the order they are written.
    pub policies: Vec<(&'static str, Value)>,
}

/// The run policies `add-job` can set, as typed on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFlags {
    pub timeout: Option<String>,
    pub overlap: Option<Overlap>,
    pub retry: Option<u32>,
    pub retry_delay: Option<String>,
    pub retry_backoff: Option<Backoff>,
    pub retry_max_delay: Option<String>,
    pub jitter: Option<String>,
    pub catch_up: Option<String>,
    /// Tenant ids, or the one word `dynamic`.
    pub tenants: Option<Vec<String>>,
    pub tenant_concurrency: Option<u64>,
}

impl PolicyFlags {
    /// The manifest keys these flags write, checked by the same reader that reads the
    /// manifest, so that add-job never writes what backend-inspect or the scheduler refuses.
    pub fn entry(&self) -> Result<Vec<(&'static str, Value)>, JobError> {
        let text = |v: &Option<String>| v.as_ref().map(|s| Value::String(s.clone()));
        let retry_parts = [
            self.retry_delay.is_some(),
            self.retry_backoff.is_some(),
            self.retry_max_delay.is_some(),
        ];
        if self.retry.is_none() && retry_parts.contains(&true) {
            return Err(JobError::InvalidPolicy(
                "--retry-delay, --retry-backoff and --retry-max-delay need --retry <ATTEMPTS>"
                    .into(),
            ));
        }
        let retry = self.retry.map(|attempts| {
            let mut retry = Map::new();
            retry.insert("attempts".into(), Value::from(attempts));
            if let Some(backoff) = self.retry_backoff {
                retry.insert("backoff".into(), Value::from(backoff.as_str()));
            }
            if let Some(delay) = &self.retry_delay {
                retry.insert("delay".into(), Value::from(delay.clone()));
            }
            if let Some(max) = &self.retry_max_delay {
                retry.insert("maxDelay".into(), Value::from(max.clone()));
            }
            Value::Object(retry)
        });
        let tenants = self.tenants.as_ref().map(|ids| match ids.as_slice() {
            [one] if one == DYNAMIC_TENANTS => Value::from(DYNAMIC_TENANTS),
            _ => Value::Array(ids.iter().cloned().map(Value::String).collect()),
        });
        let entry: Vec<(&'static str, Value)> = [
            ("timeout", text(&self.timeout)),
            ("overlap", self.overlap.map(|o| Value::from(o.as_str()))),
            ("retry", retry),
            ("jitter", text(&self.jitter)),
            ("catchUp", text(&self.catch_up)),
            ("tenants", tenants),
            (
                "tenantConcurrency",
                self.tenant_concurrency.map(Value::from),
            ),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
        let fields: Map<String, Value> = entry
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let invalid = |p: policy::KeyProblem| JobError::InvalidPolicy(p.message);
        policy::read_timeout(&fields).map_err(invalid)?;
        policy::read_tenants(&fields).map_err(invalid)?;
        if let Some(problem) = policy::read_policies(&fields).1.into_iter().next() {
            return Err(invalid(problem));
        }
        Ok(entry)
    }
}

impl NewJob {
    /// Validates raw inputs (as typed on the command line) into a job.
    pub fn new(
        name: &str,
        schedules: Vec<String>,
        description: Option<String>,
        priority: Option<&str>,
        timezone: Option<String>,
    ) -> Result<NewJob, JobError> {
        let name = JobName::parse(name)?;
        for expr in &schedules {
            validate_schedule(expr)?;
        }
        if description.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(JobError::EmptyDescription);
        }
        let priority = priority.map(parse_priority).transpose()?;
        // Stored in canonical form (`america/new_york` -> `America/New_York`): other tools that
        // read the manifest (Node's Intl, cron exporters) match zone names exactly.
        let timezone = timezone
            .map(|tz| {
                schedule::parse_timezone(&tz)
                    .map(|zone| zone.name().to_owned())
                    .map_err(JobError::InvalidTimezone)
            })
            .transpose()?;
        Ok(NewJob {
            name,
            schedules,
            description,
            priority,
            timezone,
            policies: Vec::new(),
        })
    }

    /// Adds the policy flags' keys to the entry, refusing any value the manifest reader
    /// would refuse.
    pub fn with_policies(mut self, flags: &PolicyFlags) -> Result<NewJob, JobError> {
        self.policies = flags.entry()?;
        Ok(self)
    }

    /// The manifest entry, keys in the order they are written.
    pub fn entry(&self) -> Vec<(&'static str, Value)> {
        let mut entry = vec![("name", Value::String(self.name.as_str().to_owned()))];
        match self.schedules.as_slice() {
            [] => {}
            [one] => entry.push(("schedule", Value::String(one.clone()))),
            many => entry.push((
                "schedule",
                Value::Array(many.iter().cloned().map(Value::String).collect()),
            )),
        }
        if let Some(description) = &self.description {
            entry.push(("description", Value::String(description.clone())));
        }
        match &self.priority {
            None => {}
            Some(Priority::Number(n)) => entry.push(("priority", Value::from(*n))),
            Some(Priority::Label(label)) => entry.push(("priority", Value::String(label.clone()))),
        }
        if let Some(timezone) = &self.timezone {
            entry.push(("timezone", Value::String(timezone.clone())));
        }
        entry.extend(self.policies.iter().cloned());
        entry
    }
}

fn validate_schedule(expr: &str) -> Result<(), JobError> {
    let invalid = |message: String| JobError::InvalidSchedule {
        schedule: expr.escape_debug().to_string(),
        message,
    };
    if expr.trim().is_empty() {
        return Err(invalid(
            "it is empty; use a cron expression (`0 0 * * *`), a macro (`@daily`) or `rate(5 minutes)`"
                .into(),
        ));
    }
    Schedule::parse(expr)
        .map(drop)
        .map_err(|e| invalid(e.to_string()))
}

/// `5` and `-3` are numbers; any other non-empty text (`high`, `05`, `+1`) is a label, so a
/// label never silently changes when read back. So is an integer beyond JavaScript's safe range
/// (±(2^53 − 1)), of either sign: stored as a JSON number, Node would read
/// `9007199254740993` back as `9007199254740992`.
fn parse_priority(text: &str) -> Result<Priority, JobError> {
    if text.trim().is_empty() {
        return Err(JobError::EmptyPriority);
    }
    Ok(match text.parse::<i64>() {
        Ok(n) if n.to_string() == text && is_safe_integer(n) => Priority::Number(n),
        _ => Priority::Label(text.to_owned()),
    })
}

/// What [`add_job`] did.
#[derive(Debug, Clone)]
pub struct AddedJob {
    pub name: String,
    /// What the user typed, when it differs from `name`.
    pub normalized_from: Option<String>,
    /// The job's `index.ts`, relative to the workspace root.
    pub source: PathBuf,
    /// The manifest entry as written.
    pub entry: Value,
}

/// Scaffolds `src/backend/jobs/<name>/index.ts` and appends the job to the manifest. Either both
/// happen or, on any error, every file is left as it was.
pub fn add_job(workspace: &Workspace, job: &NewJob) -> Result<AddedJob, Error> {
    add_job_with(workspace, job, false).map(|(added, _)| added)
}

/// [`add_job`], also returning what changed; with `dry_run`, every check is made and nothing is
/// written. The diff in [`Changes`] is made for a dry run only (empty otherwise).
pub fn add_job_with(
    workspace: &Workspace,
    job: &NewJob,
    dry_run: bool,
) -> Result<(AddedJob, Changes), Error> {
    let _lock = workspace.lock()?;
    let text = workspace.read_package_json()?;
    let key = canonical_key(job.name.as_str());
    let entry = job.entry();
    // One scan of the file for both: whether the name is taken, and where the entry goes.
    let edited = match edit::append_new_job(&text, &key, &entry)? {
        edit::NewJobEdit::Taken(name) => return Err(JobError::Exists { name }.into()),
        edit::NewJobEdit::Appended(edited) => edited,
    };
    let source = scaffold::render_source(job.name.as_str())?;
    scaffold::preflight(workspace, job.name.as_str())?;
    workspace.ensure_package_json_writable()?;

    let file = scaffold::job_dir(workspace, job.name.as_str()).join(scaffold::ENTRY_FILE);
    let changes = Changes {
        // Only a dry run shows the diff; on a 1 MB package.json it costs more than the edit.
        diff: if dry_run {
            package_json_diff(&text, &edited)
        } else {
            String::new()
        },
        created: vec![scaffold::relative(workspace, &file)],
        ..Changes::default()
    };
    let added = AddedJob {
        name: job.name.as_str().to_owned(),
        normalized_from: job
            .name
            .was_normalized()
            .then(|| job.name.given().to_owned()),
        source: scaffold::relative(workspace, &file),
        entry: Value::Object(entry.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
    };
    if dry_run {
        return Ok((added, changes));
    }
    let scaffold = Scaffold::create(workspace, job.name.as_str(), &source)?;
    if let Err(e) = workspace.write_package_json(&edited) {
        scaffold.undo();
        return Err(e.into());
    }
    Ok((added, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_numbers_only_in_canonical_form() {
        assert_eq!(parse_priority("5").ok(), Some(Priority::Number(5)));
        assert_eq!(parse_priority("-3").ok(), Some(Priority::Number(-3)));
        assert_eq!(
            parse_priority("9007199254740991").ok(),
            Some(Priority::Number(9_007_199_254_740_991))
        );
        assert_eq!(
            parse_priority("-9007199254740991").ok(),
            Some(Priority::Number(-9_007_199_254_740_991))
        );
        for label in [
            "high",
            "05",
            "+1",
            "-0",
            "1.5",
            "99999999999999999999",
            "9007199254740992",
            "9007199254740993",
            "-9007199254740993",
        ] {
            assert_eq!(
                parse_priority(label).ok(),
                Some(Priority::Label(label.into()))
            );
        }
        assert!(matches!(parse_priority(" "), Err(JobError::EmptyPriority)));
    }

    #[test]
    fn entry_keys_come_in_a_fixed_order_and_only_when_given() {
        let job = NewJob::new(
            "nightly",
            vec!["@daily".into(), "@hourly".into()],
            None,
            Some("high"),
            Some("Europe/London".into()),
        )
        .expect("valid");
        let keys: Vec<_> = job.entry().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["name", "schedule", "priority", "timezone"]);
    }
}
