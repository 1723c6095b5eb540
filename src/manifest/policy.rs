//! Per-job scheduling policies (`overlap`, `retry`, `jitter`, `catchUp`, `tenantConcurrency`)
//! and the tenants a job runs for: their types, and the one reader of their values that the
//! manifest, `add-job`, webstir.toml and the scheduler all use, so that whatever one accepts
//! the others accept too.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::settings::parse_duration;

/// What the watcher does when a job is due while its previous run is still going.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Skip the fire and say so (cron's and supercronic's behaviour).
    #[default]
    Skip,
    /// Start another run beside the running one.
    Allow,
    /// Run once more right after the current run ends; at most one run waits.
    Queue,
    /// Stop the running one (SIGTERM, grace period, SIGKILL), then start.
    Replace,
}

impl Overlap {
    pub const NAMES: &'static str = "skip, allow, queue or replace";

    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Allow => "allow",
            Overlap::Queue => "queue",
            Overlap::Replace => "replace",
        }
    }
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Overlap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "skip" => Ok(Overlap::Skip),
            "allow" => Ok(Overlap::Allow),
            "queue" => Ok(Overlap::Queue),
            "replace" => Ok(Overlap::Replace),
            _ => Err(format!("expected {}", Overlap::NAMES)),
        }
    }
}

/// How a job's runs are run: a new Node process per run, or a warm worker that imported the
/// job's module already (see docs/scheduler.md, "Runners").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RunnerKind {
    /// A new process per run: full isolation, start-up cost on every run.
    #[default]
    Process,
    /// A long-lived worker process that runs many runs, one at a time.
    Worker,
}

impl RunnerKind {
    pub const NAMES: &'static str = "`process` or `worker`";

    pub fn as_str(self) -> &'static str {
        match self {
            RunnerKind::Process => "process",
            RunnerKind::Worker => "worker",
        }
    }
}

impl fmt::Display for RunnerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunnerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "process" => Ok(RunnerKind::Process),
            "worker" => Ok(RunnerKind::Worker),
            _ => Err(format!("expected {}", RunnerKind::NAMES)),
        }
    }
}

/// How the wait between two attempts grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// `delay`, `2 × delay`, `4 × delay`, ... up to `maxDelay`.
    #[default]
    Exponential,
    /// `delay` every time.
    Fixed,
}

impl Backoff {
    pub fn as_str(self) -> &'static str {
        match self {
            Backoff::Exponential => "exponential",
            Backoff::Fixed => "fixed",
        }
    }
}

impl FromStr for Backoff {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "exponential" => Ok(Backoff::Exponential),
            "fixed" => Ok(Backoff::Fixed),
            _ => Err("expected `exponential` or `fixed`".into()),
        }
    }
}

/// Most attempts one run may make; more is a loop, not a retry policy.
pub const MAX_ATTEMPTS: u32 = 100;
/// The wait before the second attempt when `retry` gives no `delay`.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(10);
/// Most runs of one job that may run at once for its tenants.
pub const MAX_TENANT_CONCURRENCY: usize = 256;

/// Running a failed run again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// How many attempts a run makes in all, the first one included (at least 1).
    pub attempts: u32,
    pub backoff: Backoff,
    #[serde(serialize_with = "duration_text")]
    pub delay: Duration,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_duration_text"
    )]
    pub max_delay: Option<Duration>,
}

impl Retry {
    /// The wait after failed attempt `failed` (1-based) before the next one.
    pub fn delay_after(&self, failed: u32) -> Duration {
        let delay = match self.backoff {
            Backoff::Fixed => self.delay,
            Backoff::Exponential => {
                let factor = 2u32.saturating_pow(failed.saturating_sub(1).min(31));
                self.delay.saturating_mul(factor)
            }
        };
        self.max_delay.map_or(delay, |cap| delay.min(cap))
    }
}

impl fmt::Display for Retry {
    /// `3 attempts, exponential backoff from 30s up to 10m`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} attempts, {} backoff from {}",
            self.attempts,
            self.backoff.as_str(),
            humantime::format_duration(self.delay)
        )?;
        if let Some(max) = self.max_delay {
            write!(f, " up to {}", humantime::format_duration(max))?;
        }
        Ok(())
    }
}

/// Whether the watcher makes up, on start, for a fire it missed while it was not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CatchUp {
    #[default]
    None,
    /// Run once for the latest due time that was missed, if it lies within this window.
    Within(Duration),
}

impl CatchUp {
    pub fn window(self) -> Option<Duration> {
        match self {
            CatchUp::None => None,
            CatchUp::Within(window) => Some(window),
        }
    }
}

impl FromStr for CatchUp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "none" {
            return Ok(CatchUp::None);
        }
        parse_duration(s)
            .map(CatchUp::Within)
            .map_err(|_| "expected `none` or a window such as `6h` or `30m`".into())
    }
}

impl Serialize for CatchUp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CatchUp::None => s.serialize_str("none"),
            CatchUp::Within(window) => duration_text(window, s),
        }
    }
}

/// The policies a job entry (or webstir.toml) sets; `None` leaves a policy to the next level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap: Option<Overlap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_duration_text"
    )]
    pub jitter: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_concurrency: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerKind>,
}

impl PolicySpec {
    /// One `key: value` phrase per policy that is set, for one-line reports.
    pub fn details(&self) -> Vec<String> {
        let mut details = Vec::new();
        if let Some(overlap) = self.overlap {
            details.push(format!("overlap: {overlap}"));
        }
        if let Some(retry) = &self.retry {
            details.push(format!("retry: {retry}"));
        }
        if let Some(jitter) = self.jitter {
            details.push(format!("jitter: {}", humantime::format_duration(jitter)));
        }
        match self.catch_up {
            None => {}
            Some(CatchUp::None) => details.push("catch-up: none".into()),
            Some(CatchUp::Within(window)) => {
                details.push(format!("catch-up: {}", humantime::format_duration(window)));
            }
        }
        if let Some(n) = self.tenant_concurrency {
            details.push(format!("tenant concurrency: {n}"));
        }
        if let Some(runner) = self.runner {
            details.push(format!("runner: {runner}"));
        }
        details
    }

    /// The effective policies: this job's, else `defaults` (webstir.toml's), else the
    /// built-in defaults.
    pub fn resolve(&self, defaults: &PolicySpec) -> Policies {
        Policies {
            overlap: self.overlap.or(defaults.overlap).unwrap_or_default(),
            retry: self.retry.clone().or_else(|| defaults.retry.clone()),
            jitter: self.jitter.or(defaults.jitter),
            catch_up: self
                .catch_up
                .or(defaults.catch_up)
                .unwrap_or_default()
                .window(),
            tenant_concurrency: self
                .tenant_concurrency
                .or(defaults.tenant_concurrency)
                .unwrap_or(1),
            runner: self.runner.or(defaults.runner).unwrap_or_default(),
        }
    }
}

/// The policies a run follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policies {
    pub overlap: Overlap,
    pub retry: Option<Retry>,
    #[serde(serialize_with = "optional_duration_text")]
    pub jitter: Option<Duration>,
    /// The catch-up window; `None` is no catch-up (shown as `"none"`).
    #[serde(serialize_with = "catch_up_text")]
    pub catch_up: Option<Duration>,
    /// How many of a job's tenant runs may run at once (at least 1).
    pub tenant_concurrency: usize,
    /// A new process per run, or a warm worker.
    pub runner: RunnerKind,
}

impl Default for Policies {
    fn default() -> Self {
        PolicySpec::default().resolve(&PolicySpec::default())
    }
}

impl Policies {
    /// How many attempts a run makes in all.
    pub fn attempts(&self) -> u32 {
        self.retry.as_ref().map_or(1, |r| r.attempts)
    }
}

/// Whom a job runs for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Tenants {
    /// One run without a tenant.
    #[default]
    None,
    /// One run per listed tenant.
    Static(Vec<String>),
    /// One run per tenant that the workspace's tenant provider lists at each fire.
    Dynamic,
}

/// The value of `"tenants"` that asks for the tenant provider.
pub const DYNAMIC_TENANTS: &str = "dynamic";

impl Tenants {
    pub fn is_none(&self) -> bool {
        matches!(self, Tenants::None)
    }
}

impl Serialize for Tenants {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tenants::None => s.collect_seq(std::iter::empty::<&str>()),
            Tenants::Static(ids) => s.collect_seq(ids),
            Tenants::Dynamic => s.serialize_str(DYNAMIC_TENANTS),
        }
    }
}

impl fmt::Display for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tenants::None => Ok(()),
            Tenants::Static(ids) => f.write_str(&ids.join(" ")),
            Tenants::Dynamic => f.write_str("dynamic (from src/backend/tenants.ts)"),
        }
    }
}

/// The rule for one tenant id, wherever ids come from (the manifest, `--tenants`, the tenant
/// provider): not blank, no control characters, no surrounding white space.
pub fn check_tenant_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        return Err("a tenant id must not be empty".into());
    }
    if id.trim() != id {
        return Err(format!(
            "tenant id `{}` has white space around it",
            id.escape_debug()
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(format!(
            "tenant id `{}` has a control character",
            id.escape_debug()
        ));
    }
    Ok(())
}

/// Checks a whole list of tenant ids: each id, and no id twice.
pub fn check_tenant_list(ids: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for id in ids {
        check_tenant_id(id)?;
        if !seen.insert(id.as_str()) {
            return Err(format!("tenant `{id}` is listed twice"));
        }
    }
    Ok(())
}

/// A problem with one key of a job entry: the diagnostic code and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    pub code: &'static str,
    pub message: String,
}

fn problem(code: &'static str, message: String) -> KeyProblem {
    KeyProblem { code, message }
}

/// A duration as the manifest may write it: a string that [`parse_duration`] reads (`30s`,
/// `1h 30m`, `90`) or a bare number of seconds (`90`, `1.5`).
pub fn duration_value(value: &Value) -> Result<Duration, String> {
    match value {
        Value::String(text) => parse_duration(text),
        Value::Number(n) => match n.as_f64() {
            // The same bound as a written duration: a number is not a way around it.
            Some(secs) if secs > 0.0 => Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| *d <= crate::settings::MAX_DURATION)
                .ok_or_else(crate::settings::too_long),
            Some(_) => Err("the duration must be greater than zero".into()),
            None => Err("the duration is not a number webstir can read".into()),
        },
        _ => Err(
            "expected a duration: a string such as `30s`, `5m` or `1h 30m`, or a number of seconds"
                .into(),
        ),
    }
}

fn duration_key(fields: &Map<String, Value>, key: &str) -> Result<Option<Duration>, KeyProblem> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => duration_value(value).map(Some).map_err(|reason| {
            problem(
                "invalid-policy",
                format!("`{key}` {}: {reason}", shown(value)),
            )
        }),
    }
}

/// A value as it appears in the file, for messages.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

fn bounded_integer(value: &Value, low: u64, high: u64) -> Option<u64> {
    value.as_u64().filter(|n| (low..=high).contains(n))
}

/// Reads the `timeout` of a job entry.
pub fn read_timeout(fields: &Map<String, Value>) -> Result<Option<Duration>, KeyProblem> {
    duration_key(fields, "timeout").map_err(|p| problem("invalid-timeout", p.message))
}

/// Reads the policy keys of a job entry; every problem is reported, each with its key.
pub fn read_policies(fields: &Map<String, Value>) -> (PolicySpec, Vec<KeyProblem>) {
    fn keep<T>(result: Result<Option<T>, KeyProblem>, problems: &mut Vec<KeyProblem>) -> Option<T> {
        result.unwrap_or_else(|p| {
            problems.push(p);
            None
        })
    }
    let mut problems = Vec::new();
    let spec = PolicySpec {
        overlap: keep(read_overlap(fields), &mut problems),
        retry: keep(read_retry(fields), &mut problems),
        jitter: keep(duration_key(fields, "jitter"), &mut problems),
        catch_up: keep(read_catch_up(fields), &mut problems),
        tenant_concurrency: keep(read_tenant_concurrency(fields), &mut problems),
        runner: keep(read_runner(fields), &mut problems),
    };
    (spec, problems)
}

fn read_overlap(fields: &Map<String, Value>) -> Result<Option<Overlap>, KeyProblem> {
    match fields.get("overlap") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.parse::<Overlap>().is_ok() => Ok(s.parse().ok()),
        Some(other) => Err(problem(
            "invalid-policy",
            format!("`overlap` {}: expected {}", shown(other), Overlap::NAMES),
        )),
    }
}

fn read_runner(fields: &Map<String, Value>) -> Result<Option<RunnerKind>, KeyProblem> {
    match fields.get("runner") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.parse::<RunnerKind>().is_ok() => Ok(s.parse().ok()),
        Some(other) => Err(problem(
            "invalid-policy",
            format!("`runner` {}: expected {}", shown(other), RunnerKind::NAMES),
        )),
    }
}

fn read_catch_up(fields: &Map<String, Value>) -> Result<Option<CatchUp>, KeyProblem> {
    match fields.get("catchUp") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim() == "none" => Ok(Some(CatchUp::None)),
        Some(value) => duration_value(value)
            .map(|window| Some(CatchUp::Within(window)))
            .map_err(|_| {
                problem(
                    "invalid-policy",
                    format!(
                        "`catchUp` {}: expected \"none\" or a window such as \"6h\" or \"30m\"",
                        shown(value)
                    ),
                )
            }),
    }
}

fn read_tenant_concurrency(fields: &Map<String, Value>) -> Result<Option<usize>, KeyProblem> {
    match fields.get("tenantConcurrency") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => bounded_integer(value, 1, MAX_TENANT_CONCURRENCY as u64)
            .map(|n| Some(n as usize))
            .ok_or_else(|| {
                problem(
                    "invalid-policy",
                    format!(
                        "`tenantConcurrency` {}: expected a whole number from 1 to {MAX_TENANT_CONCURRENCY}",
                        shown(value)
                    ),
                )
            }),
    }
}

/// `"retry": 3` is short for `"retry": {"attempts": 3}`.
fn read_retry(fields: &Map<String, Value>) -> Result<Option<Retry>, KeyProblem> {
    let attempts_problem = |value: &Value| {
        problem(
            "invalid-policy",
            format!(
                "`retry.attempts` {}: expected a whole number from 1 to {MAX_ATTEMPTS} (the first attempt included)",
                shown(value)
            ),
        )
    };
    let object = match fields.get("retry") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(_)) => {
            let value = &fields["retry"];
            let attempts = bounded_integer(value, 1, u64::from(MAX_ATTEMPTS))
                .ok_or_else(|| attempts_problem(value))?;
            return Ok(Some(Retry {
                attempts: attempts as u32,
                backoff: Backoff::default(),
                delay: DEFAULT_RETRY_DELAY,
                max_delay: None,
            }));
        }
        Some(Value::Object(object)) => object,
        Some(other) => {
            return Err(problem(
                "invalid-policy",
                format!(
                    "`retry` {}: expected a number of attempts or an object such as {{\"attempts\": 3, \"backoff\": \"exponential\", \"delay\": \"30s\", \"maxDelay\": \"10m\"}}",
                    shown(other)
                ),
            ));
        }
    };
    const RETRY_KEYS: [&str; 4] = ["attempts", "backoff", "delay", "maxDelay"];
    if let Some(unknown) = object.keys().find(|k| !RETRY_KEYS.contains(&k.as_str())) {
        return Err(problem(
            "invalid-policy",
            format!(
                "`retry` has an unknown key `{unknown}` (allowed: {})",
                RETRY_KEYS.join(", ")
            ),
        ));
    }
    let attempts = match object.get("attempts") {
        Some(value) => bounded_integer(value, 1, u64::from(MAX_ATTEMPTS))
            .ok_or_else(|| attempts_problem(value))? as u32,
        None => {
            return Err(problem(
                "invalid-policy",
                "`retry` needs `attempts`, the number of attempts in all (for example 3)".into(),
            ));
        }
    };
    let backoff = match object.get("backoff") {
        None | Some(Value::Null) => Backoff::default(),
        Some(Value::String(s)) if s.parse::<Backoff>().is_ok() => s.parse().unwrap_or_default(),
        Some(other) => {
            return Err(problem(
                "invalid-policy",
                format!(
                    "`retry.backoff` {}: expected \"exponential\" or \"fixed\"",
                    shown(other)
                ),
            ));
        }
    };
    let nested = |key: &str| {
        duration_key(object, key)
            .map_err(|p| problem(p.code, p.message.replacen('`', "`retry.", 1)))
    };
    let delay = nested("delay")?.unwrap_or(DEFAULT_RETRY_DELAY);
    let max_delay = nested("maxDelay")?;
    if let Some(max) = max_delay
        && max < delay
    {
        return Err(problem(
            "invalid-policy",
            format!(
                "`retry.maxDelay` ({}) is shorter than `retry.delay` ({})",
                humantime::format_duration(max),
                humantime::format_duration(delay)
            ),
        ));
    }
    Ok(Some(Retry {
        attempts,
        backoff,
        delay,
        max_delay,
    }))
}

/// Reads `tenants`: an array of tenant ids, or `"dynamic"`.
pub fn read_tenants(fields: &Map<String, Value>) -> Result<Tenants, KeyProblem> {
    let invalid = |message: String| problem("invalid-tenants", message);
    match fields.get("tenants") {
        None | Some(Value::Null) => Ok(Tenants::None),
        Some(Value::String(s)) if s == DYNAMIC_TENANTS => Ok(Tenants::Dynamic),
        Some(Value::Array(items)) => {
            let ids: Vec<String> = items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    invalid("`tenants` must be an array of strings or \"dynamic\"".into())
                })?;
            check_tenant_list(&ids).map_err(|m| invalid(format!("`tenants`: {m}")))?;
            if ids.is_empty() {
                return Ok(Tenants::None);
            }
            Ok(Tenants::Static(ids))
        }
        Some(other) => Err(invalid(format!(
            "`tenants` {}: expected an array of tenant ids or \"dynamic\"",
            shown(other)
        ))),
    }
}

fn catch_up_text<S: Serializer>(window: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match window {
        Some(window) => duration_text(window, s),
        None => s.serialize_str("none"),
    }
}

/// Serializes a duration the way users write it (`30s`, `1h 30m`).
pub fn duration_text<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

pub fn optional_duration_text<S: Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => duration_text(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("an object"),
        }
    }

    fn policies(value: Value) -> (PolicySpec, Vec<KeyProblem>) {
        read_policies(&fields(value))
    }

    #[test]
    fn reads_every_policy_key() {
        let (spec, problems) = policies(json!({
            "overlap": "queue",
            "retry": {"attempts": 3, "backoff": "fixed", "delay": 30, "maxDelay": "10m"},
            "jitter": "30s",
            "catchUp": "6h",
            "tenantConcurrency": 4
        }));
        assert_eq!(problems, []);
        assert_eq!(spec.overlap, Some(Overlap::Queue));
        assert_eq!(
            spec.retry,
            Some(Retry {
                attempts: 3,
                backoff: Backoff::Fixed,
                delay: Duration::from_secs(30),
                max_delay: Some(Duration::from_secs(600)),
            })
        );
        assert_eq!(spec.jitter, Some(Duration::from_secs(30)));
        assert_eq!(
            spec.catch_up,
            Some(CatchUp::Within(Duration::from_secs(6 * 3600)))
        );
        assert_eq!(spec.tenant_concurrency, Some(4));
    }

    #[test]
    fn every_bad_value_named_in_the_issue_is_a_problem_with_its_key() {
        for (entry, key) in [
            (json!({"retry": {"attempts": -1}}), "retry.attempts"),
            (
                json!({"retry": {"attempts": 2, "backoff": "linear"}}),
                "retry.backoff",
            ),
            (json!({"jitter": "soon"}), "jitter"),
            (json!({"overlap": "sometimes"}), "overlap"),
            (json!({"catchUp": "forever"}), "catchUp"),
            (json!({"retry": 0}), "retry.attempts"),
            (json!({"retry": {"attempts": 101}}), "retry.attempts"),
            (
                json!({"retry": {"attempts": 2, "delay": "0s"}}),
                "retry.delay",
            ),
            (json!({"tenantConcurrency": 0}), "tenantConcurrency"),
            (json!({"jitter": -5}), "jitter"),
            (json!({"runner": "thread"}), "runner"),
        ] {
            let (_, problems) = policies(entry.clone());
            assert_eq!(problems.len(), 1, "{entry}");
            assert!(
                problems[0].message.contains(&format!("`{key}`")),
                "{entry}: {}",
                problems[0].message
            );
        }
    }

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(duration_value(&json!(90)), Ok(Duration::from_secs(90)));
        assert_eq!(duration_value(&json!(1.5)), Ok(Duration::from_millis(1500)));
        assert_eq!(duration_value(&json!("90")), Ok(Duration::from_secs(90)));
        assert!(duration_value(&json!(0)).is_err());
        assert!(duration_value(&json!(true)).is_err());
    }

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let retry = Retry {
            attempts: 10,
            backoff: Backoff::Exponential,
            delay: Duration::from_secs(1),
            max_delay: Some(Duration::from_secs(5)),
        };
        let delays: Vec<u64> = (1..=5).map(|n| retry.delay_after(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        let fixed = Retry {
            backoff: Backoff::Fixed,
            ..retry
        };
        assert_eq!(fixed.delay_after(4), Duration::from_secs(1));
        let huge = Retry {
            attempts: 100,
            backoff: Backoff::Exponential,
            delay: Duration::from_secs(3600),
            max_delay: None,
        };
        assert!(huge.delay_after(99) >= Duration::from_secs(3600));
    }

    #[test]
    fn job_policies_win_over_defaults_which_win_over_built_ins() {
        let job = PolicySpec {
            overlap: Some(Overlap::Allow),
            catch_up: Some(CatchUp::None),
            ..PolicySpec::default()
        };
        let defaults = PolicySpec {
            overlap: Some(Overlap::Replace),
            jitter: Some(Duration::from_secs(5)),
            catch_up: Some(CatchUp::Within(Duration::from_secs(60))),
            ..PolicySpec::default()
        };
        let effective = job.resolve(&defaults);
        assert_eq!(effective.overlap, Overlap::Allow);
        assert_eq!(effective.jitter, Some(Duration::from_secs(5)));
        assert_eq!(effective.catch_up, None);
        assert_eq!(effective.tenant_concurrency, 1);
        assert_eq!(Policies::default().overlap, Overlap::Skip);
    }

    #[test]
    fn tenants_follow_one_rule() {
        let read = |v: Value| read_tenants(&fields(json!({ "tenants": v })));
        assert_eq!(
            read(json!(["a", "b"])),
            Ok(Tenants::Static(vec!["a".into(), "b".into()]))
        );
        assert_eq!(read(json!("dynamic")), Ok(Tenants::Dynamic));
        assert_eq!(read(json!([])), Ok(Tenants::None));
        for bad in [
            json!([""]),
            json!(["a", "a"]),
            json!([" a"]),
            json!("all"),
            json!([1]),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }
}
