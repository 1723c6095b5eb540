//! The module manifest: `webstir.moduleManifest` in `package.json`, read into typed jobs with
//! diagnostics, and edited in place without disturbing the user's formatting (`edit`).

pub mod edit;
pub mod entry_edit;
pub mod inspect;
mod json;
mod locate;
pub mod policy;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::jobs::canonical_key;
use crate::jobs::name::check_manifest_name;
use crate::schedule::{Schedule, ScheduleError};
use policy::{PolicySpec, Tenants};

/// JSON Schema (2020-12) of `webstir.moduleManifest`.
pub const SCHEMA: &str = include_str!("../../schemas/module-manifest.schema.json");

/// Keys a job entry may have; anything else is flagged (the JSON Schema says the same).
pub const JOB_KEYS: &[&str] = &[
    "name",
    "schedule",
    "description",
    "priority",
    "timezone",
    "timeout",
    "tenants",
    "tenantConcurrency",
    "overlap",
    "retry",
    "jitter",
    "catchUp",
    "runner",
];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// `package.json` is not valid JSON; line and column are 1-based.
    #[error("package.json:{line}:{column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("package.json: {0}")]
    Shape(String),
    /// The manifest has error-level diagnostics and the command refuses to act on it.
    #[error("the module manifest in package.json is invalid:\n{}", render_list(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_list(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  - {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses `package.json` text strictly (it is JSON, not JSONC), reporting where it breaks. A
/// leading byte-order mark is allowed, as npm and Node allow it. Whatever Node's `JSON.parse`
/// accepts is accepted (see [`json`]), and numbers keep the form they are written in.
pub fn parse_package_json(text: &str) -> Result<Value, ManifestError> {
    let (_, json) = split_bom(text);
    json::parse(json)
}

/// JavaScript's `Number.MAX_SAFE_INTEGER` (2^53 − 1): integers beyond it, of either sign, do
/// not survive a round trip through Node.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// True when Node reads `n` back as exactly `n`.
pub fn is_safe_integer(n: i64) -> bool {
    (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&n)
}

/// Splits off a UTF-8 byte-order mark, which some Windows editors write and JSON parsers
/// refuse: (the mark or `""`, the JSON text).
pub fn split_bom(text: &str) -> (&str, &str) {
    const BOM: &str = "\u{feff}";
    match text.strip_prefix(BOM) {
        Some(json) => (BOM, json),
        None => ("", text),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Priority {
    Number(i64),
    Label(String),
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Priority::Number(n) => write!(f, "{n}"),
            Priority::Label(s) => f.write_str(s),
        }
    }
}

/// One job as the manifest declares it, every value checked by the one reader that
/// `backend-inspect`, `add-job` and the scheduler share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub name: String,
    /// Every schedule of the job, as written (`schedule` may be a string or an array).
    pub schedules: Vec<String>,
    /// The schedules that parse, in the order written; read once, used by every command.
    #[serde(skip)]
    pub parsed: Vec<Schedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// After this long a run is stopped (`"30s"`, `"5m"`, or a number of seconds).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "policy::optional_duration_text"
    )]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Tenants::is_none")]
    pub tenants: Tenants,
    #[serde(flatten)]
    pub policies: PolicySpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// Something wrong (or suspicious) in the manifest, tied to a job where it can be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// A stable identifier for scripts: `invalid-schedule`, `duplicate-name`, `unknown-key`, ...
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        match &self.job {
            Some(job) => write!(f, "{level}: job `{job}`: {}", self.message),
            None => write!(f, "{level}: {}", self.message),
        }
    }
}

/// What `package.json` says about the workspace and its jobs.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `name` of the package, if any.
    pub package_name: Option<String>,
    /// `webstir.mode`, if any.
    pub mode: Option<String>,
    /// `webstir.moduleManifest` as written (`null` when absent).
    pub module_manifest: AsWritten,
    /// Jobs that could be read, in manifest order.
    pub jobs: Vec<JobSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Manifest {
    /// Reads the manifest from `package.json` text. Only a file that is not JSON, or whose
    /// `webstir` value is not an object, is an error here; everything else becomes diagnostics.
    pub fn from_package_json(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::read(text, true)
    }

    /// [`Manifest::from_package_json`] for a command that reads the jobs and not
    /// `module_manifest` as written (left `null` here): a manifest of thousands of jobs is not
    /// copied for nothing.
    pub fn jobs_from_package_json(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::read(text, false)
    }

    fn read(text: &str, keep_module_manifest: bool) -> Result<Manifest, ManifestError> {
        let (_, json) = split_bom(text);
        // Same length, so that the full reader, if it is needed, reports the same positions.
        let readable = json::replace_lone_surrogates(json);
        // The common case: the jobs are read straight from the text; any other shape, and every
        // error, is the full reader's.
        let located = if keep_module_manifest {
            locate::locate(&readable)
        } else {
            locate::locate_jobs(&readable)
        };
        let mut manifest = match located {
            Some(found) => Manifest::from_located(found, keep_module_manifest),
            None => Manifest::from_value(parse_package_json(text)?)?,
        };
        if !keep_module_manifest {
            manifest.module_manifest = AsWritten::default();
        }
        Ok(manifest)
    }

    fn from_located(found: locate::Located<'_>, keep_module_manifest: bool) -> Manifest {
        let text = |raw: Option<&RawValue>| {
            raw.and_then(locate::string_of)
                .map(std::borrow::Cow::into_owned)
        };
        let mut manifest = Manifest {
            package_name: text(found.name),
            mode: text(found.mode),
            module_manifest: AsWritten(
                found
                    .module_manifest
                    .filter(|_| keep_module_manifest)
                    .map(ToOwned::to_owned),
            ),
            jobs: Vec::new(),
            diagnostics: Vec::new(),
        };
        if let Some(entries) = &found.jobs {
            manifest.read_entries(entries);
        }
        manifest
    }

    /// The full reader's way, for the files [`locate::locate`] leaves to it.
    fn from_value(root: Value) -> Result<Manifest, ManifestError> {
        let Value::Object(mut root) = root else {
            return Err(ManifestError::Shape(
                "the top level must be an object".into(),
            ));
        };
        // Taken out by value: a manifest of thousands of jobs is not worth copying.
        let mut webstir = match root.remove("webstir") {
            Some(Value::Object(w)) => w,
            Some(_) => return Err(ManifestError::Shape("`webstir` must be an object".into())),
            None => Map::new(),
        };
        let module_manifest = webstir.remove("moduleManifest").unwrap_or(Value::Null);
        let mut manifest = Manifest {
            package_name: root.get("name").and_then(Value::as_str).map(str::to_owned),
            mode: webstir
                .get("mode")
                .and_then(Value::as_str)
                .map(str::to_owned),
            module_manifest: AsWritten::default(),
            jobs: Vec::new(),
            diagnostics: Vec::new(),
        };
        if let Some(entries) = manifest.job_entries(&module_manifest) {
            // Written out again so that one reader reads the jobs, whichever way they came.
            let entries: Vec<Box<RawValue>> = entries
                .iter()
                .filter_map(|entry| serde_json::value::to_raw_value(entry).ok())
                .collect();
            let entries: Vec<locate::Entry<'_>> =
                entries.iter().map(|raw| locate::Entry::of(raw)).collect();
            manifest.read_entries(&entries);
        }
        if !module_manifest.is_null() {
            manifest.module_manifest =
                AsWritten(serde_json::value::to_raw_value(&module_manifest).ok());
        }
        Ok(manifest)
    }

    /// The name of the job of `package.json` text whose canonical key is `key`, if there is one:
    /// what `Manifest::from_package_json(text)?.jobs` would hold under that key, found by reading
    /// only the names of the entries.
    pub fn job_named(text: &str, key: &str) -> Result<Option<String>, ManifestError> {
        let (_, json) = split_bom(text);
        let readable = json::replace_lone_surrogates(json);
        let Some(found) = locate::locate_jobs(&readable) else {
            let manifest = Manifest::from_package_json(text)?;
            return Ok(manifest
                .jobs
                .into_iter()
                .find(|j| canonical_key(&j.name) == key)
                .map(|j| j.name));
        };
        Ok(taken_name(found.jobs.as_deref().unwrap_or_default(), key))
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    /// Fails closed: the manifest's error-level diagnostics become one error.
    pub fn require_valid(self) -> Result<Manifest, ManifestError> {
        if self.has_errors() {
            let errors = self
                .diagnostics
                .into_iter()
                .filter(|d| d.level == Level::Error)
                .collect();
            return Err(ManifestError::Invalid(errors));
        }
        Ok(self)
    }

    pub fn job(&self, name: &str) -> Option<&JobSpec> {
        self.jobs.iter().find(|j| j.name == name)
    }

    fn error(&mut self, code: &'static str, job: Option<&str>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            level: Level::Error,
            code,
            job: job.map(str::to_owned),
            message: message.into(),
        });
    }

    fn job_entries<'m>(&mut self, module_manifest: &'m Value) -> Option<&'m [Value]> {
        match module_manifest {
            Value::Null => None,
            Value::Object(m) => match m.get("jobs") {
                None | Some(Value::Null) => None,
                Some(Value::Array(entries)) => Some(entries),
                Some(_) => {
                    self.error(
                        "invalid-jobs",
                        None,
                        "`webstir.moduleManifest.jobs` must be an array",
                    );
                    None
                }
            },
            _ => {
                self.error(
                    "invalid-manifest",
                    None,
                    "`webstir.moduleManifest` must be an object",
                );
                None
            }
        }
    }

    fn read_entries(&mut self, entries: &[locate::Entry<'_>]) {
        // The scheduler matches names by their canonical key, so `send-daily` and
        // `send_daily` would be the same job. Keyed by that key so that a manifest of
        // thousands of jobs is checked in one pass.
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        let mut known = Known::default();
        self.jobs.reserve(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            if let Some(job) = self.read_job(index, entry, &mut known) {
                let key = canonical_key(&job.name);
                if let Some(&first) = seen.get(&key) {
                    let first = &self.jobs[first];
                    let name = job.name.clone();
                    let message = if first.name == name {
                        "is declared more than once".to_owned()
                    } else {
                        format!(
                            "has the same name as job `{}` (names are compared in snake_case: `SendDaily`, `send-daily` and `send_daily` are one job)",
                            first.name
                        )
                    };
                    self.error("duplicate-name", Some(&name), message);
                    continue;
                }
                seen.insert(key, self.jobs.len());
                self.jobs.push(job);
            }
        }
    }

    fn read_job(
        &mut self,
        index: usize,
        entry: &locate::Entry<'_>,
        known: &mut Known,
    ) -> Option<JobSpec> {
        let locate::Entry::Object(fields) = entry else {
            self.error(
                "invalid-job",
                None,
                format!("jobs[{index}] must be an object with a `name`"),
            );
            return None;
        };
        let Some(name) = fields.get("name").and_then(locate::string_of) else {
            self.error(
                "missing-name",
                None,
                format!("jobs[{index}] has no string `name`"),
            );
            return None;
        };
        let name = name.into_owned();
        if let Err(rule) = check_manifest_name(&name) {
            self.error(
                "invalid-name",
                None,
                format!(
                    "jobs[{index}] has the name `{}`, which `webstir add-job` refuses: {rule}",
                    name.escape_debug()
                ),
            );
            return None;
        }
        for key in fields.keys() {
            if !JOB_KEYS.contains(&key) {
                self.error(
                    "unknown-key",
                    Some(&name),
                    format!("unknown key `{key}` (allowed: {})", JOB_KEYS.join(", ")),
                );
            }
        }
        let schedule = fields.get("schedule");
        let schedules = self.string_list(
            schedule,
            &name,
            "invalid-schedule",
            "`schedule` must be a string or an array of strings",
        );
        if schedule
            .and_then(locate::array_of)
            .is_some_and(|items| items.is_empty())
        {
            self.error(
                "invalid-schedule",
                Some(&name),
                "`schedule` is an empty array; give at least one schedule or leave the key out",
            );
        }
        let mut parsed = Vec::with_capacity(schedules.len());
        for schedule in &schedules {
            match known.schedule(schedule) {
                Ok(p) => parsed.push(p),
                Err(e) => self.error(
                    "invalid-schedule",
                    Some(&name),
                    format!("schedule `{schedule}`: {e}"),
                ),
            }
        }
        let description = self.string_field(fields.get("description"), &name, "description");
        if description.as_deref().is_some_and(|d| d.trim().is_empty()) {
            self.error(
                "invalid-field",
                Some(&name),
                "`description` is empty; give a short text or leave the key out",
            );
        }
        let timezone = self.string_field(fields.get("timezone"), &name, "timezone");
        if let Some(tz) = &timezone
            && let Err(e) = known.timezone(tz)
        {
            self.error("invalid-timezone", Some(&name), e);
        }
        // Cannot fail: the text was read as JSON already, no deeper than the full reader goes.
        let value_of = |raw: &RawValue| serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        let priority = fields.get("priority").map(value_of);
        // The other keys (the policies, keys the manifest does not know) are few and mostly
        // absent; they are read as values, by the readers add-job shares.
        let fields: Map<String, Value> = fields
            .0
            .iter()
            .filter(|(key, _)| !TEXT_KEYS.contains(&key.as_ref()))
            .map(|(key, raw)| (key.clone().into_owned(), value_of(raw)))
            .collect();
        let timeout = policy::read_timeout(&fields).unwrap_or_else(|p| {
            self.error(p.code, Some(&name), p.message);
            None
        });
        let (policies, problems) = policy::read_policies(&fields);
        for p in problems {
            self.error(p.code, Some(&name), p.message);
        }
        let priority = match &priority {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some_and(is_safe_integer) => {
                n.as_i64().map(Priority::Number)
            }
            // Node would read it as a different number than webstir does: say so rather than
            // let the two disagree.
            Some(Value::Number(n)) if n.as_i64().is_some() || n.as_u64().is_some() => {
                self.error(
                    "invalid-priority",
                    Some(&name),
                    format!(
                        "`priority` {n} is beyond JavaScript's safe integer range \
                         (±{MAX_SAFE_INTEGER}) and Node reads it as another number; \
                         write it as a string: \"{n}\""
                    ),
                );
                None
            }
            Some(Value::String(s)) if !s.trim().is_empty() => Some(Priority::Label(s.clone())),
            Some(_) => {
                self.error(
                    "invalid-priority",
                    Some(&name),
                    "`priority` must be an integer or a non-empty label",
                );
                None
            }
        };
        let tenants = policy::read_tenants(&fields).unwrap_or_else(|p| {
            self.error(p.code, Some(&name), p.message);
            Tenants::None
        });
        Some(JobSpec {
            name,
            schedules,
            parsed,
            description,
            priority,
            timezone,
            timeout,
            tenants,
            policies,
        })
    }

    /// A field holding an array of strings or one string, as a list.
    fn string_list(
        &mut self,
        raw: Option<&RawValue>,
        job: &str,
        code: &'static str,
        message: &str,
    ) -> Vec<String> {
        let Some(raw) = raw.filter(|raw| !locate::is_null(raw)) else {
            return Vec::new();
        };
        if let Some(one) = locate::string_of(raw) {
            return vec![one.into_owned()];
        }
        let items = locate::array_of(raw).and_then(|items| {
            items
                .into_iter()
                .map(|item| locate::string_of(item).map(std::borrow::Cow::into_owned))
                .collect::<Option<Vec<String>>>()
        });
        items.unwrap_or_else(|| {
            self.error(code, Some(job), message);
            Vec::new()
        })
    }

    fn string_field(&mut self, raw: Option<&RawValue>, job: &str, key: &str) -> Option<String> {
        let raw = raw.filter(|raw| !locate::is_null(raw))?;
        match locate::string_of(raw) {
            Some(s) => Some(s.into_owned()),
            None => {
                self.error(
                    "invalid-field",
                    Some(job),
                    format!("`{key}` must be a string"),
                );
                None
            }
        }
    }
}

/// The name of the job among `entries` (located in the text) whose canonical key is `key`: the
/// first entry the reader keeps under the key, an object whose string name passes the name
/// check (a later one of the same key is a duplicate the reader drops).
fn taken_name(entries: &[locate::Entry<'_>], key: &str) -> Option<String> {
    entries.iter().find_map(|entry| {
        let locate::Entry::Object(fields) = entry else {
            return None;
        };
        let name = fields.get("name").and_then(locate::string_of)?;
        (canonical_key(&name) == key && check_manifest_name(&name).is_ok())
            .then(|| name.into_owned())
    })
}

/// A part of `package.json` as written, kept as text: reports write it as JSON straight from
/// the text (a manifest of thousands of jobs is never built into a value to be written once).
#[derive(Debug, Clone, Default)]
pub struct AsWritten(Option<Box<RawValue>>);

impl AsWritten {
    /// As a value (`Value::Null` when absent).
    pub fn value(&self) -> Value {
        self.0
            .as_ref()
            // It was read as JSON already; the text is only read again.
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or(Value::Null)
    }
}

impl Serialize for AsWritten {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(raw) => locate::AsValue(raw).serialize(s),
            None => s.serialize_unit(),
        }
    }
}

/// The job keys read on their own; the others are read as values, together.
const TEXT_KEYS: [&str; 5] = ["name", "schedule", "description", "timezone", "priority"];

/// Schedules and time zones already read in this manifest: thousands of jobs share a handful of
/// each, and a parsed schedule is copied for the price of a reference count.
#[derive(Default)]
struct Known {
    schedules: HashMap<String, Result<Schedule, ScheduleError>>,
    zones: HashMap<String, Result<(), String>>,
}

impl Known {
    fn schedule(&mut self, expr: &str) -> Result<Schedule, ScheduleError> {
        if let Some(known) = self.schedules.get(expr) {
            return known.clone();
        }
        let parsed = Schedule::parse(expr);
        self.schedules.insert(expr.to_owned(), parsed.clone());
        parsed
    }

    fn timezone(&mut self, name: &str) -> Result<(), String> {
        if let Some(known) = self.zones.get(name) {
            return known.clone();
        }
        let checked = crate::schedule::parse_timezone(name)
            .map(drop)
            .map_err(|e| e.to_string());
        self.zones.insert(name.to_owned(), checked.clone());
        checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The jobs read straight from the text are the jobs the full reader reads.
    #[test]
    fn both_readers_read_the_same_manifest() {
        let text = r#"{
          "name": "demo", "name": "demo\u0021",
          "webstir": {"mode": "api", "moduleManifest": {"version": "1.0.0", "n": 1E2, "jobs": [
            {"name": "a", "schedule": "@daily", "timezone": "europe/london", "priority": 5},
            {"name": "b", "schedule": ["*/5 * * * *", "bad"], "description": "x\ny \ud800",
             "retry": {"attempts": 3, "delay": 30}, "tenants": ["t1"], "extra": [1, {"deep": []}],
             "overlap": "queue", "catchUp": "6h", "jitter": 1.5, "timeout": "30s", "extra": 2},
            {"name": "A", "schedule": []}, {"name": "c/d"}, {"schedule": "@daily"}, 7,
            {"name": "e", "schedule": 5, "description": " ", "timezone": "Mars/Base",
             "priority": 9007199254740993, "tenants": "all", "retry": 0, "tenantConcurrency": 0},
            {"name": "f", "schedule": null, "description": null, "priority": "high",
             "name": "g", "overlap": "never"}
          ]}}
        }"#;
        let (_, json) = split_bom(text);
        let readable = json::replace_lone_surrogates(json);
        let fast = Manifest::from_located(locate::locate(&readable).expect("located"), true);
        let full = Manifest::from_value(parse_package_json(text).expect("JSON")).expect("read");
        assert_eq!(fast.jobs, full.jobs);
        assert_eq!(fast.diagnostics, full.diagnostics);
        assert_eq!(fast.package_name.as_deref(), Some("demo!"));
        assert_eq!(fast.package_name, full.package_name);
        assert_eq!(fast.mode, full.mode);
        assert_eq!(fast.module_manifest.value(), full.module_manifest.value());
        assert_eq!(fast.module_manifest.value()["n"].to_string(), "1e+2");
        assert_eq!(
            serde_json::to_string_pretty(&fast.module_manifest).expect("written"),
            serde_json::to_string_pretty(&full.module_manifest.value()).expect("written")
        );
        assert_eq!(fast.jobs.len(), 4);
        let jobs_only = Manifest::jobs_from_package_json(text).expect("read");
        assert_eq!(jobs_only.jobs, fast.jobs);
        assert_eq!(jobs_only.diagnostics, fast.diagnostics);
        assert_eq!(jobs_only.module_manifest.value(), Value::Null);
        assert!(fast.diagnostics.len() > 10, "{:#?}", fast.diagnostics);
    }
}
