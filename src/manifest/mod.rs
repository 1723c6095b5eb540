//! The module manifest: `webstir.moduleManifest` in `package.json`, read into typed jobs with
//! diagnostics, and edited in place without disturbing the user's formatting (`edit`).

pub mod edit;
pub mod entry_edit;
pub mod inspect;
mod json;
pub mod policy;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::jobs::canonical_key;
use crate::jobs::name::check_manifest_name;
use crate::schedule::Schedule;
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
    /// The raw `webstir.moduleManifest` object (`Value::Null` when absent).
    pub module_manifest: Value,
    /// Jobs that could be read, in manifest order.
    pub jobs: Vec<JobSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Manifest {
    /// Reads the manifest from `package.json` text. Only a file that is not JSON, or whose
    /// `webstir` value is not an object, is an error here; everything else becomes diagnostics.
    pub fn from_package_json(text: &str) -> Result<Manifest, ManifestError> {
        let root = parse_package_json(text)?;
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
        let mut manifest = Manifest {
            package_name: root.get("name").and_then(Value::as_str).map(str::to_owned),
            mode: webstir
                .get("mode")
                .and_then(Value::as_str)
                .map(str::to_owned),
            module_manifest: webstir.remove("moduleManifest").unwrap_or(Value::Null),
            jobs: Vec::new(),
            diagnostics: Vec::new(),
        };
        manifest.read_jobs();
        Ok(manifest)
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

    fn read_jobs(&mut self) {
        // Lent out while the jobs are read, so that reading can record diagnostics on `self`
        // without copying every entry.
        let module_manifest = std::mem::take(&mut self.module_manifest);
        if let Some(entries) = self.job_entries(&module_manifest) {
            self.read_entries(entries);
        }
        self.module_manifest = module_manifest;
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

    fn read_entries(&mut self, entries: &[Value]) {
        // The scheduler matches names by their canonical key, so `send-daily` and
        // `send_daily` would be the same job. Keyed by that key so that a manifest of
        // thousands of jobs is checked in one pass.
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            if let Some(job) = self.read_job(index, entry) {
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

    fn read_job(&mut self, index: usize, entry: &Value) -> Option<JobSpec> {
        let Value::Object(fields) = entry else {
            self.error(
                "invalid-job",
                None,
                format!("jobs[{index}] must be an object with a `name`"),
            );
            return None;
        };
        let Some(name) = fields.get("name").and_then(Value::as_str) else {
            self.error(
                "missing-name",
                None,
                format!("jobs[{index}] has no string `name`"),
            );
            return None;
        };
        let name = name.to_owned();
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
            if !JOB_KEYS.contains(&key.as_str()) {
                self.error(
                    "unknown-key",
                    Some(&name),
                    format!("unknown key `{key}` (allowed: {})", JOB_KEYS.join(", ")),
                );
            }
        }
        let schedules = self.string_list(
            fields,
            &name,
            "schedule",
            "invalid-schedule",
            "`schedule` must be a string or an array of strings",
        );
        if fields
            .get("schedule")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            self.error(
                "invalid-schedule",
                Some(&name),
                "`schedule` is an empty array; give at least one schedule or leave the key out",
            );
        }
        let mut parsed = Vec::with_capacity(schedules.len());
        for schedule in &schedules {
            match Schedule::parse(schedule) {
                Ok(p) => parsed.push(p),
                Err(e) => self.error(
                    "invalid-schedule",
                    Some(&name),
                    format!("schedule `{schedule}`: {e}"),
                ),
            }
        }
        let description = self.string_field(fields, &name, "description");
        if description.as_deref().is_some_and(|d| d.trim().is_empty()) {
            self.error(
                "invalid-field",
                Some(&name),
                "`description` is empty; give a short text or leave the key out",
            );
        }
        let timezone = self.string_field(fields, &name, "timezone");
        if let Some(tz) = &timezone
            && let Err(e) = crate::schedule::parse_timezone(tz)
        {
            self.error("invalid-timezone", Some(&name), e.to_string());
        }
        let timeout = policy::read_timeout(fields).unwrap_or_else(|p| {
            self.error(p.code, Some(&name), p.message);
            None
        });
        let (policies, problems) = policy::read_policies(fields);
        for p in problems {
            self.error(p.code, Some(&name), p.message);
        }
        let priority = match fields.get("priority") {
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
        let tenants = policy::read_tenants(fields).unwrap_or_else(|p| {
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
        fields: &Map<String, Value>,
        job: &str,
        key: &str,
        code: &'static str,
        message: &str,
    ) -> Vec<String> {
        match fields.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                self.error(code, Some(job), message);
                Vec::new()
            }
        }
    }

    fn string_field(
        &mut self,
        fields: &Map<String, Value>,
        job: &str,
        key: &str,
    ) -> Option<String> {
        match fields.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
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
