//! `webstir.toml`: optional workspace defaults for the scheduler (and the default time zone).
//!
//! The file is read with `toml_edit` so that errors point at a line and column, and edited with
//! it so that `webstir config set` keeps the user's comments and layout.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use toml_edit::{Document, DocumentMut, Item, value};

use crate::fsutil;
use crate::workspace::Workspace;

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
];

/// The validated contents of `webstir.toml`; every field is `None` when not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub node: Option<String>,
    pub grace: Option<Duration>,
    pub timeout: Option<Duration>,
    pub log_format: Option<LogFormat>,
    pub timezone: Option<String>,
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
                crate::schedule::parse_timezone(raw).map_err(|e| invalid(e.to_string()))?;
                self.timezone = Some(raw.to_owned());
            }
            _ => {
                return Err(SettingsError::UnknownKey {
                    key: key.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The value of `key` as this file sets it, in the form `config set` accepts.
    pub fn get(&self, key: &str) -> Option<String> {
        match key {
            "node" => self.node.clone(),
            "grace" => self
                .grace
                .map(|d| humantime::format_duration(d).to_string()),
            "timeout" => self
                .timeout
                .map(|d| humantime::format_duration(d).to_string()),
            "log-format" => self.log_format.map(|f| f.to_string()),
            "timezone" => self.timezone.clone(),
            _ => None,
        }
    }
}

/// Parses a duration such as `10s`, `1m 30s` or `500ms`; zero is refused.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if d.is_zero() => Err("the duration must be greater than zero".into()),
        Ok(d) => Ok(d),
        Err(_) => Err("expected a duration such as `30s`, `5m` or `1h 30m`".into()),
    }
}

/// `<workspace>/webstir.toml`.
pub fn settings_path(workspace: &Workspace) -> PathBuf {
    workspace.root().join(SETTINGS_FILE)
}

/// Looks up an accepted key.
pub fn find_key(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.name == key)
}

/// Sets `key` to `raw` in `webstir.toml`, creating the file if needed and keeping every other
/// byte (comments, order, spacing) as it was. Returns the file's path.
pub fn set(workspace: &Workspace, key: &str, raw: &str) -> Result<PathBuf, SettingsError> {
    edit(workspace, key, |doc| {
        let mut probe = Settings::default();
        probe.apply(key, raw)?;
        match doc.get_mut(key) {
            // Replacing only the value keeps the key's decor and any comment after the value.
            Some(Item::Value(existing)) => {
                let decor = existing.decor().clone();
                *existing = toml_edit::Value::from(raw);
                *existing.decor_mut() = decor;
            }
            _ => {
                doc.insert(key, value(raw));
            }
        }
        Ok(())
    })
}

/// Removes `key` from `webstir.toml`; removing a key that is not set is not an error.
pub fn unset(workspace: &Workspace, key: &str) -> Result<PathBuf, SettingsError> {
    edit(workspace, key, |doc| {
        doc.remove(key);
        Ok(())
    })
}

fn edit(
    workspace: &Workspace,
    key: &str,
    change: impl FnOnce(&mut DocumentMut) -> Result<(), SettingsError>,
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
    let mut doc: DocumentMut = original.parse().map_err(|e: toml_edit::TomlError| {
        let offset = e.span().map_or(0, |s| s.start);
        syntax_at(
            Path::new(SETTINGS_FILE),
            &original,
            offset,
            e.message().trim().to_owned(),
        )
    })?;
    change(&mut doc)?;
    let updated = doc.to_string();
    if text.is_some() && updated == original {
        return Ok(path);
    }
    if text.is_none() && doc.as_table().is_empty() {
        return Ok(path);
    }
    fsutil::write_atomic(&path, updated.as_bytes()).map_err(|source| SettingsError::Io {
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
            "webstir.toml:2:9: `grace`: expected a duration such as `30s`, `5m` or `1h 30m`"
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
