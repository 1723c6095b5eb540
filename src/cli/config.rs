//! `webstir config`: read and edit `webstir.toml`, the workspace's defaults for the scheduler.

use std::process::ExitCode;

use clap::Subcommand;

use super::Context;
use crate::Error;
use crate::settings::{self, KEYS, Settings, SettingsError};

const AFTER_HELP: &str = "\
Keys:
  node        Node.js executable the scheduler runs jobs with (default: node)
  grace       time running jobs get after SIGINT/SIGTERM before SIGKILL (default: 10s)
  timeout     default time limit of a job run; a job's own `timeout` wins (default: none)
  log-format  scheduler log format, text or json (default: text)
  timezone    IANA time zone of schedules without their own (default: TZ, else the system's)

Command-line flags win over webstir.toml. Edits keep the file's comments and layout.

Examples:
  webstir config set grace 30s
  webstir config set timezone Europe/London
  webstir config get log-format
  webstir config list
  webstir config unset timeout";

/// Read and edit webstir.toml, the workspace's defaults for the scheduler
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Set a key in webstir.toml (creating the file if needed)
    Set {
        /// One of: node, grace, timeout, log-format, timezone
        key: String,
        value: String,
    },
    /// Print a key's effective value (webstir.toml's, else the default)
    Get {
        /// One of: node, grace, timeout, log-format, timezone
        key: String,
    },
    /// Print every key with its value and where it comes from
    List {
        /// Print a JSON object instead
        #[arg(long)]
        json: bool,
    },
    /// Remove a key from webstir.toml
    Unset {
        /// One of: node, grace, timeout, log-format, timezone
        key: String,
    },
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace()?;
    match args.action {
        Action::Set { key, value } => {
            let (path, stored) = settings::set(&workspace, &key, &value).map_err(usage)?;
            let stored = shown(&key, stored);
            println!("set {key} = {stored:?} in {}", path.display());
        }
        Action::Unset { key } => {
            let path = settings::unset(&workspace, &key).map_err(usage)?;
            println!("unset {key} in {}", path.display());
        }
        Action::Get { key } => {
            if settings::find_key(&key).is_none() {
                return Err(usage(SettingsError::UnknownKey { key }));
            }
            let value = Settings::load(&workspace)?.effective(&key)?;
            println!("{}", shown(&key, value));
        }
        Action::List { json } => {
            let current = Settings::load(&workspace)?;
            if json {
                let object: serde_json::Map<String, serde_json::Value> = KEYS
                    .iter()
                    .map(|k| {
                        let value = current
                            .get(k.name)
                            .or(k.default.map(str::to_owned))
                            .map(|v| shown(k.name, v));
                        (
                            k.name.to_owned(),
                            value.map_or(serde_json::Value::Null, Into::into),
                        )
                    })
                    .collect();
                println!("{}", serde_json::Value::Object(object));
            } else {
                for key in KEYS {
                    match (
                        current.get(key.name).map(|v| shown(key.name, v)),
                        key.default,
                    ) {
                        (Some(value), _) => println!("{} = {value:?}", key.name),
                        (None, Some(default)) => {
                            println!("{} = {default:?} (default)", key.name)
                        }
                        (None, None) => println!("{} is not set", key.name),
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A value as printed: `store` may be a URL carrying a password, which is never printed.
fn shown(key: &str, value: String) -> String {
    match key {
        "store" => crate::store::location::redact(&value),
        _ => value,
    }
}

/// A key or value the user typed that is not accepted is a usage error (exit 2).
fn usage(error: SettingsError) -> Error {
    match error {
        SettingsError::UnknownKey { .. } | SettingsError::InvalidValue { .. } => {
            Error::Usage(error.to_string())
        }
        other => other.into(),
    }
}
