//! The environment a job runs with: the real environment, then `.env.local`, then `.env` from
//! the workspace root (a variable already set wins), plus the `WEBSTIR_*` variables of the run.
//! The files are read the way Node.js reads them (see [`super::dotenv`]) without touching the
//! scheduler's own environment.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Files read after the real environment, first one winning.
pub const ENV_FILES: &[&str] = &[".env.local", ".env"];

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("refusing to read `{}`: it is a symbolic link that points outside the workspace", path.display())]
    OutsideWorkspace { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
}

/// The variables every job of a workspace starts from.
#[derive(Debug, Clone, Default)]
pub struct JobEnv {
    vars: BTreeMap<OsString, OsString>,
}

/// What a single run adds to [`JobEnv`].
#[derive(Debug, Clone, Copy)]
pub struct RunVars<'a> {
    pub job: &'a str,
    /// The schedule that fired, or `manual`.
    pub schedule: &'a str,
    pub tenant: Option<&'a str>,
    /// The due time the run fired for (RFC 3339, UTC); a manual run's start time.
    pub fire_time: &'a str,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

impl JobEnv {
    /// The real environment plus the workspace's `.env.local` and `.env`.
    pub fn load(root: &Path) -> Result<JobEnv, EnvError> {
        let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
        for name in ENV_FILES {
            let path = root.join(name);
            // Within a file the last assignment wins, as under Node.
            let file: BTreeMap<String, String> = read_env_file(root, &path)?.into_iter().collect();
            for (key, value) in file {
                vars.entry(key.into()).or_insert_with(|| value.into());
            }
        }
        Ok(JobEnv { vars })
    }

    /// The variables every run starts from, before the run's own `WEBSTIR_*` ones.
    pub fn base(&self) -> &BTreeMap<OsString, OsString> {
        &self.vars
    }

    /// The full environment of one run.
    pub fn for_run(&self, run: RunVars<'_>) -> BTreeMap<OsString, OsString> {
        let mut vars = self.vars.clone();
        vars.insert("WEBSTIR_JOB".into(), run.job.into());
        vars.insert("WEBSTIR_SCHEDULE".into(), run.schedule.into());
        vars.insert("WEBSTIR_FIRE_TIME".into(), run.fire_time.into());
        vars.insert("WEBSTIR_ATTEMPT".into(), run.attempt.to_string().into());
        match run.tenant {
            Some(tenant) => vars.insert("WEBSTIR_TENANT_ID".into(), tenant.into()),
            None => vars.remove(&OsString::from("WEBSTIR_TENANT_ID")),
        };
        vars
    }
}

fn read_env_file(root: &Path, path: &Path) -> Result<Vec<(String, String)>, EnvError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    if crate::fsutil::is_symlink(path) {
        let inside = match (path.canonicalize(), root.canonicalize()) {
            (Ok(target), Ok(root)) => target.starts_with(root),
            _ => false,
        };
        if !inside {
            return Err(EnvError::OutsideWorkspace {
                path: path.to_path_buf(),
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| EnvError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    super::dotenv::parse(&text).map_err(|e| EnvError::Parse {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })
}
