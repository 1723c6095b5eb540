//! `webstir.toml`: optional workspace defaults for the scheduler (and the default time zone).
//!
//! The file is read with `toml_edit` so that errors point at a line and column, and edited with
//! it so that `webstir config set` keeps the user's comments and layout.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use toml_edit::Document;

use crate::fsutil;
use crate::manifest::policy::{self, Backoff, CatchUp, Overlap, PolicySpec, Retry, RunnerKind};
use crate::runner::worker;
use crate::workspace::Workspace;

mod edit;

pub const SETTINGS_FILE: &str = "webstir.toml";

/// Default grace period between SIGTERM and SIGKILL when the watcher stops.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file does not parse, or a key or value in it is not accepted; line and column are
    /// 1-based.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("unknown setting `{key}` (accepted: {})", KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "))]
    UnknownKey { key: String },
    #[error("invalid value `{value}` for `{key}`: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    /// `config get` of a key that neither the file nor a default sets.
    #[error(
        "`{key}` is not set in webstir.toml and has no default (set it with `webstir config set {key} {}`)",
        example(key)
    )]
    NotSet { key: String },
    #[error("refusing to use `{}`: it is a symbolic link", path.display())]
    Symlink { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How the scheduler writes its events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable `[jobs] ...` lines; job output prefixed with `[<job>]`.
    #[default]
    Text,
    /// One JSON object per event on stdout.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected `text` or `json`".into()),
        }
    }
}

/// One accepted key of `webstir.toml`.
#[derive(Debug)]
pub struct KeyInfo {
    pub name: &'static str,
    pub help: &'static str,
    /// The value used when neither the file nor a flag sets one; `None` means "unset".
    pub default: Option<&'static str>,
}

/// Every key `webstir.toml` accepts.
pub const KEYS: &[KeyInfo] = &[
    KeyInfo {
        name: "node",
        help: "Node.js executable the scheduler runs jobs with",
        default: Some("node"),
    },
    KeyInfo {
        name: "grace",
        help: "time running jobs get to stop after SIGINT/SIGTERM before they are killed",
        default: Some("10s"),
    },
    KeyInfo {
        name: "timeout",
        help: "default time limit of a job run (a job's own `timeout` wins)",
        default: None,
    },
    KeyInfo {
        name: "log-format",
        help: "scheduler log format: text or json",
        default: Some("text"),
    },
    KeyInfo {
        name: "timezone",
        help: "default IANA time zone for schedules without their own `timezone`",
        default: None,
    },
    KeyInfo {
        name: "overlap",
        help: "default overlap policy: skip, allow, queue or replace (a job's own `overlap` wins)",
        default: Some("skip"),
    },
    KeyInfo {
        name: "retry",
        help: "default number of attempts of a failing run, the first included (a job's own `retry` wins)",
        default: Some("1"),
    },
    KeyInfo {
        name: "retry-delay",
        help: "wait before the second attempt, with `retry`",
        default: Some("10s"),
    },
    KeyInfo {
        name: "retry-backoff",
        help: "how the wait grows between attempts, with `retry`: exponential or fixed",
        default: Some("exponential"),
    },
    KeyInfo {
        name: "retry-max-delay",
        help: "longest wait between attempts, with `retry`",
        default: None,
    },
    KeyInfo {
        name: "jitter",
        help: "default random delay of 0 up to this duration before each scheduled fire",
        default: None,
    },
    KeyInfo {
        name: "catch-up",
        help: "default catch-up window for fires missed while the watcher was stopped, or none",
        default: Some("none"),
    },
    KeyInfo {
        name: "tenant-concurrency",
        help: "default number of a job's tenant runs that may run at once",
        default: Some("1"),
    },
    KeyInfo {
        name: "runner",
        help: "default runner: process (a new Node process per run) or worker (warm workers; a job's own `runner` wins)",
        default: Some("process"),
    },
    KeyInfo {
        name: "worker-pool",
        help: "most warm workers alive at once (default: the number of cores)",
        default: None,
    },
    KeyInfo {
        name: "worker-concurrency",
        help: "most runs one warm worker runs at once",
        default: Some("16"),
    },
    KeyInfo {
        name: "worker-max-runs",
        help: "runs after which a warm worker is replaced by a fresh one",
        default: None,
    },
    KeyInfo {
        name: "worker-max-memory",
        help: "resident memory above which a warm worker is replaced after its run, e.g. 512MiB",
        default: Some("512MiB"),
    },
    KeyInfo {
        name: "history-limit",
        help: "how many runs of each job the run history keeps (`scheduler --history`); older ones are dropped",
        default: Some("1000"),
    },
    KeyInfo {
        name: "store",
        help: "where runs are recorded and fires claimed: sqlite (.webstir/state.db) or a postgres:// URL shared by several watchers",
        default: Some("sqlite"),
    },
];

/// The most runs per job `history-limit` accepts.
pub const MAX_HISTORY_LIMIT: usize = 1_000_000;

/// The validated contents of `webstir.toml`; every field is `None` when not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub node: Option<String>,
    pub grace: Option<Duration>,
    pub timeout: Option<Duration>,
    pub log_format: Option<LogFormat>,
    /// The canonical IANA name (`America/New_York`, whatever case the file used).
    pub timezone: Option<String>,
    /// Each key's value exactly as the file writes it, so that `config get` shows `1w` and not
    /// a reformatted `7days`.
    written: Vec<(&'static str, String)>,
    pub overlap: Option<Overlap>,
    pub retry_attempts: Option<u32>,
    pub retry_delay: Option<Duration>,
    pub retry_backoff: Option<Backoff>,
    pub retry_max_delay: Option<Duration>,
    pub jitter: Option<Duration>,
    pub catch_up: Option<CatchUp>,
    pub tenant_concurrency: Option<usize>,
    pub runner: Option<RunnerKind>,
    pub worker_pool: Option<usize>,
    pub worker_concurrency: Option<usize>,
    pub worker_max_runs: Option<u32>,
    /// Bytes.
    pub worker_max_memory: Option<u64>,
    pub history_limit: Option<usize>,
    /// `store`: the value as written (a URL may carry a password; print it redacted).
    pub store: Option<String>,
}

impl Settings {
    /// Reads `webstir.toml` from the workspace root; a missing file means no settings.
    pub fn load(workspace: &Workspace) -> Result<Settings, SettingsError> {
        let path = settings_path(workspace);
        match read_file(&path)? {
            Some(text) => Settings::parse(Path::new(SETTINGS_FILE), &text),
            None => Ok(Settings::default()),
        }
    }

    /// Parses and validates the text of a settings file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Settings, SettingsError> {
        let doc = match Document::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                return Err(syntax_at(path, text, offset, e.message().trim().to_owned()));
            }
        };
        let mut settings = Settings::default();
        for (key, item) in doc.as_table().iter() {
            let offset = doc
                .as_table()
                .key(key)
                .and_then(|k| k.span())
                .map_or(0, |s| s.start);
            let Some(raw) = item.as_value().and_then(|v| v.as_str()) else {
                if find_key(key).is_none() {
                    return Err(syntax_at(path, text, offset, unknown_key_message(key)));
                }
                let offset = item.span().map_or(offset, |s| s.start);
                return Err(syntax_at(
                    path,
                    text,
                    offset,
                    format!(
                        "`{key}` must be a string, for example {key} = \"{}\"",
                        example(key)
                    ),
                ));
            };
            let value_offset = item.span().map_or(offset, |s| s.start);
            settings.apply(key, raw).map_err(|e| match e {
                SettingsError::UnknownKey { key } => {
                    syntax_at(path, text, offset, unknown_key_message(&key))
                }
                SettingsError::InvalidValue { reason, .. } => {
                    syntax_at(path, text, value_offset, format!("`{key}`: {reason}"))
                }
                other => other,
            })?;
        }
        Ok(settings)
    }

    /// Validates `raw` for `key` and stores it.
    fn apply(&mut self, key: &str, raw: &str) -> Result<(), SettingsError> {
        let invalid = |reason: String| SettingsError::InvalidValue {
            key: key.to_owned(),
            value: raw.to_owned(),
            reason,
        };
        match key {
            "node" => {
                if raw.trim().is_empty() {
                    return Err(invalid(
                        "expected a path or command name such as `node`".into(),
                    ));
                }
                self.node = Some(raw.to_owned());
            }
            "grace" => self.grace = Some(parse_duration(raw).map_err(invalid)?),
            "timeout" => self.timeout = Some(parse_duration(raw).map_err(invalid)?),
            "log-format" => self.log_format = Some(raw.parse().map_err(invalid)?),
            "timezone" => {
                let tz =
                    crate::schedule::parse_timezone(raw).map_err(|e| invalid(e.to_string()))?;
                self.timezone = Some(tz.name().to_owned());
            }
            "overlap" => self.overlap = Some(raw.trim().parse().map_err(invalid)?),
            "retry" => {
                self.retry_attempts = Some(
                    raw.trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=policy::MAX_ATTEMPTS).contains(n))
                        .ok_or_else(|| {
                            invalid(format!(
                                "expected a whole number of attempts from 1 to {}",
                                policy::MAX_ATTEMPTS
                            ))
                        })?,
                );
            }
            "retry-delay" => self.retry_delay = Some(parse_duration(raw).map_err(invalid)?),
            "retry-backoff" => self.retry_backoff = Some(raw.trim().parse().map_err(invalid)?),
            "retry-max-delay" => {
                self.retry_max_delay = Some(parse_duration(raw).map_err(invalid)?);
            }
            "jitter" => self.jitter = Some(parse_duration(raw).map_err(invalid)?),
            "catch-up" => self.catch_up = Some(raw.parse().map_err(invalid)?),
            "tenant-concurrency" => {
                self.tenant_concurrency = Some(
                    raw.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=policy::MAX_TENANT_CONCURRENCY).contains(n))
                        .ok_or_else(|| {
                            invalid(format!(
                                "expected a whole number from 1 to {}",
                                policy::MAX_TENANT_CONCURRENCY
                            ))
                        })?,
                );
            }
            "runner" => self.runner = Some(raw.trim().parse().map_err(invalid)?),
            "worker-pool" => {
                self.worker_pool = Some(worker::parse_pool_size(raw).map_err(invalid)?)
            }
            "worker-concurrency" => {
                self.worker_concurrency = Some(worker::parse_concurrency(raw).map_err(invalid)?);
            }
            "worker-max-runs" => {
                self.worker_max_runs = Some(worker::parse_max_runs(raw).map_err(invalid)?);
            }
            "worker-max-memory" => {
                self.worker_max_memory = Some(worker::parse_memory(raw).map_err(invalid)?);
            }
            "history-limit" => {
                self.history_limit = Some(
                    raw.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_HISTORY_LIMIT).contains(n))
                        .ok_or_else(|| {
                            invalid(format!(
                                "expected a whole number of runs from 1 to {MAX_HISTORY_LIMIT}"
                            ))
                        })?,
                );
            }
            "store" => {
                // Named without its password: the value may be a URL that carries one.
                crate::store::StoreLocation::parse(raw).map_err(|_| {
                    SettingsError::InvalidValue {
                        key: key.to_owned(),
                        value: crate::store::location::redact(raw),
                        reason: format!("expected {}", crate::store::location::ACCEPTED),
                    }
                })?;
                self.store = Some(raw.trim().to_owned());
            }
            _ => {
                return Err(SettingsError::UnknownKey {
                    key: key.to_owned(),
                });
            }
        }
        let info = find_key(key).expect("apply matched an accepted key above");
        self.written.retain(|(k, _)| *k != info.name);
        self.written.push((info.name, raw.to_owned()));
        Ok(())
    }

    /// The value of `key` exactly as this file writes it (`None` when the file does not set it).
    pub fn get(&self, key: &str) -> Option<String> {
        self.written
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    /// The value of `key` as this file writes it, else its default; a key with neither is
    /// [`SettingsError::NotSet`].
    pub fn effective(&self, key: &str) -> Result<String, SettingsError> {
        let info = find_key(key).ok_or_else(|| SettingsError::UnknownKey {
            key: key.to_owned(),
        })?;
        self.get(key)
            .or(info.default.map(str::to_owned))
            .ok_or_else(|| SettingsError::NotSet {
                key: key.to_owned(),
            })
    }

    /// The policies this file sets for jobs that do not set their own.
    pub fn policy_defaults(&self) -> PolicySpec {
        let retry = self.retry_attempts.map(|attempts| Retry {
            attempts,
            backoff: self.retry_backoff.unwrap_or_default(),
            delay: self.retry_delay.unwrap_or(policy::DEFAULT_RETRY_DELAY),
            max_delay: self.retry_max_delay,
        });
        PolicySpec {
            overlap: self.overlap,
            retry,
            jitter: self.jitter,
            catch_up: self.catch_up,
            tenant_concurrency: self.tenant_concurrency,
            runner: self.runner,
        }
    }

    /// The warm workers' pool as this file sets it, else the defaults.
    pub fn worker_pool(&self) -> worker::PoolConfig {
        let defaults = worker::PoolConfig::default();
        worker::PoolConfig {
            size: self.worker_pool.unwrap_or(defaults.size),
            concurrency: self.worker_concurrency.unwrap_or(defaults.concurrency),
            max_runs: self.worker_max_runs.or(defaults.max_runs),
            max_memory: self.worker_max_memory.or(defaults.max_memory),
        }
    }
}

/// The longest duration webstir accepts anywhere (a job's `timeout`, `grace`, flags): a year.
/// Longer values are certainly typos, and timers far beyond it overflow the clock.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Parses a duration such as `10s`, `1m 30s` or `500ms`, or a bare number of seconds (`90`,
/// `1.5`) as systemd reads one; zero and more than a year ([`MAX_DURATION`]) are refused.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    /// Why a text is not a duration: a count too large for any duration is the same mistake
    /// as a duration over the bound, so it gets the same message.
    enum Bad {
        Malformed,
        TooLarge,
    }
    let text = raw.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        match text.parse::<f64>() {
            Ok(secs) => Duration::try_from_secs_f64(secs).map_err(|_| Bad::TooLarge),
            Err(_) => Err(Bad::Malformed),
        }
    } else {
        humantime::parse_duration(text).map_err(|e| match e {
            humantime::DurationError::NumberOverflow => Bad::TooLarge,
            _ => Bad::Malformed,
        })
    };
    match parsed {
        Ok(d) if d.is_zero() => Err("the duration must be greater than zero".into()),
        Ok(d) if d > MAX_DURATION => Err(too_long()),
        Ok(d) => Ok(d),
        Err(Bad::TooLarge) => Err(too_long()),
        Err(Bad::Malformed) => Err(
            "expected a duration such as `30s`, `5m` or `1h 30m`, or a number of seconds".into(),
        ),
    }
}

/// The message for a duration over [`MAX_DURATION`].
pub(crate) fn too_long() -> String {
    "the duration is too long: at most a year (`365d`) is accepted".into()
}

/// `<workspace>/webstir.toml`.
pub fn settings_path(workspace: &Workspace) -> PathBuf {
    workspace.root().join(SETTINGS_FILE)
}

/// Looks up an accepted key.
pub fn find_key(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.name == key)
}

/// Sets `key` to `raw` in `webstir.toml`, creating the file if needed. Only the value changes
/// (or, for a new key, one line is added after the last key): comments, order, spacing, line
/// endings and a byte-order mark stay byte-identical. Returns the file's path and the value as
/// stored, which for `timezone` is the canonical name (`America/New_York`).
pub fn set(
    workspace: &Workspace,
    key: &str,
    raw: &str,
) -> Result<(PathBuf, String), SettingsError> {
    let mut probe = Settings::default();
    let stored = match find_key(key) {
        Some(_) => {
            probe.apply(key, raw)?;
            match key {
                "timezone" => probe.timezone.clone().unwrap_or_else(|| raw.to_owned()),
                _ => raw.to_owned(),
            }
        }
        None => raw.to_owned(),
    };
    let path = edit(workspace, key, |text| edit::set_value(text, key, &stored))?;
    Ok((path, stored))
}

/// Removes `key`'s line from `webstir.toml`; removing a key that is not set is not an error.
pub fn unset(workspace: &Workspace, key: &str) -> Result<PathBuf, SettingsError> {
    edit(workspace, key, |text| edit::remove_key(text, key))
}

fn edit(
    workspace: &Workspace,
    key: &str,
    change: impl FnOnce(&str) -> String,
) -> Result<PathBuf, SettingsError> {
    if find_key(key).is_none() {
        return Err(SettingsError::UnknownKey {
            key: key.to_owned(),
        });
    }
    let path = settings_path(workspace);
    let io = |source| SettingsError::Io {
        path: workspace.root().to_path_buf(),
        source,
    };
    let _lock = fsutil::FileLock::acquire(workspace.root()).map_err(io)?;
    let text = read_file(&path)?;
    let original = text.clone().unwrap_or_default();
    // Validate the whole file first: an edit must never bless or bury an error elsewhere in it.
    Settings::parse(Path::new(SETTINGS_FILE), &original)?;
    let updated = change(&original);
    if updated == original {
        return Ok(path);
    }
    // The splice is checked like any input: what webstir writes must read back.
    Settings::parse(Path::new(SETTINGS_FILE), &updated)?;
    fsutil::replace_user_file(&path, updated.as_bytes()).map_err(|source| SettingsError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

fn read_file(path: &Path) -> Result<Option<String>, SettingsError> {
    if fsutil::is_symlink(path) {
        return Err(SettingsError::Symlink {
            path: path.to_path_buf(),
        });
    }
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SettingsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn unknown_key_message(key: &str) -> String {
    format!(
        "unknown setting `{key}` (accepted: {})",
        KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
    )
}

fn example(key: &str) -> &'static str {
    match key {
        "grace" => "10s",
        "timeout" => "5m",
        "log-format" => "json",
        "timezone" => "Europe/London",
        "overlap" => "queue",
        "retry" => "3",
        "retry-delay" => "10s",
        "retry-backoff" => "fixed",
        "retry-max-delay" => "5m",
        "jitter" => "30s",
        "catch-up" => "6h",
        "tenant-concurrency" => "4",
        "runner" => "worker",
        "worker-pool" => "8",
        "worker-concurrency" => "16",
        "worker-max-runs" => "1000",
        "worker-max-memory" => "512MiB",
        "history-limit" => "5000",
        "store" => "postgres://webstir@db.internal:5432/jobs",
        _ => "node",
    }
}

fn syntax_at(path: &Path, text: &str, offset: usize, message: String) -> SettingsError {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    SettingsError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, SettingsError> {
        Settings::parse(Path::new("webstir.toml"), text)
    }

    #[test]
    fn reads_every_key() {
        let s = parse(
            "node = \"/usr/bin/node\"\ngrace = \"3s\"\ntimeout = \"1m\"\nlog-format = \"json\"\ntimezone = \"Europe/London\"\n",
        )
        .expect("valid");
        assert_eq!(s.node.as_deref(), Some("/usr/bin/node"));
        assert_eq!(s.grace, Some(Duration::from_secs(3)));
        assert_eq!(s.timeout, Some(Duration::from_secs(60)));
        assert_eq!(s.log_format, Some(LogFormat::Json));
        assert_eq!(s.timezone.as_deref(), Some("Europe/London"));
    }

    #[test]
    fn points_at_the_offending_line_and_column() {
        let err = parse("# defaults\ngrace = \"soon\"\n").expect_err("bad duration");
        assert_eq!(
            err.to_string(),
            "webstir.toml:2:9: `grace`: expected a duration such as `30s`, `5m` or `1h 30m`, or a number of seconds"
        );
        let err = parse("node = \"node\"\ncolour = \"red\"\n").expect_err("unknown key");
        assert!(
            err.to_string()
                .starts_with("webstir.toml:2:1: unknown setting `colour`")
        );
        let err = parse("grace = 10\n").expect_err("not a string");
        assert!(
            err.to_string()
                .starts_with("webstir.toml:1:9: `grace` must be a string")
        );
        let err = parse("grace = \n").expect_err("syntax");
        assert!(err.to_string().starts_with("webstir.toml:1:"), "{err}");
    }
}
