//! Running one job in a Node.js child process: the runner script, the job's module, its
//! environment, and the child process itself.

pub mod dotenv;
pub mod env;
pub mod outcome;
pub mod output;
pub mod process;
pub mod reaper;
pub mod sentinel;
mod spawn;
pub mod worker;

use std::io;
use std::path::{Path, PathBuf};

pub use env::{EnvError, JobEnv, RunVars};
pub use outcome::{Failure, StopOutcome};
pub use output::{MAX_LINE, OutputNote};
pub use process::{LineSink, RunResult, RunSpec, StopRequest, Stream, run};

/// File name of the Node runner script inside `build/backend/jobs/`.
pub const RUNNER_FILE_NAME: &str = "webstir-runner.mjs";

/// File name of the script that lists a job's tenants (`"tenants": "dynamic"`), installed
/// beside the runner script.
pub const TENANTS_FILE_NAME: &str = "webstir-tenants.mjs";

/// File names a job's module may have inside `build/backend/jobs/<name>/`, in order of
/// preference.
pub const MODULE_FILE_NAMES: &[&str] = &["index.js", "index.mjs"];

/// Writes the runner script (rendered from `templates/runner/runner.mjs.hbs`), and the tenant
/// listing script and the warm worker's script beside it, into `jobs_build_dir`, rewriting
/// each only when its content differs, and returns the runner's path.
pub fn install_runner_script(jobs_build_dir: &Path) -> io::Result<PathBuf> {
    install_script(jobs_build_dir, TENANTS_FILE_NAME, &tenants_script()?)?;
    install_script(
        jobs_build_dir,
        worker::WORKER_FILE_NAME,
        worker::worker_script(),
    )?;
    install_script(jobs_build_dir, RUNNER_FILE_NAME, &runner_script()?)
}

fn install_script(dir: &Path, name: &str, script: &str) -> io::Result<PathBuf> {
    let path = dir.join(name);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(script) {
        std::fs::create_dir_all(dir)?;
        crate::fsutil::write_atomic(&path, script.as_bytes())?;
    }
    Ok(path)
}

/// The runner script's source.
pub fn runner_script() -> io::Result<String> {
    crate::templates::render("runner/runner.mjs", &serde_json::json!({})).map_err(io::Error::other)
}

/// The tenant listing script's source (`templates/runner/tenants.mjs.hbs`).
pub fn tenants_script() -> io::Result<String> {
    crate::templates::render("runner/tenants.mjs", &serde_json::json!({})).map_err(io::Error::other)
}

/// Why a job's module cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// None of the candidate files exists.
    NotFound { looked_for: Vec<PathBuf> },
    /// The name is not a single folder name (`..`, `a/b`), so it cannot name a job folder.
    BadName,
    /// The module is (or sits behind) a symbolic link that leads out of the workspace.
    OutsideWorkspace { path: PathBuf },
}

/// Where the built modules of a workspace's jobs are, and the workspace's real path, worked out
/// once (a watcher looks a module up for every run).
#[derive(Debug, Clone)]
pub struct Modules {
    jobs_build_dir: PathBuf,
    /// `None` when the root cannot be resolved: then no module is inside it.
    real_root: Option<PathBuf>,
}

impl Modules {
    pub fn new(root: &Path, jobs_build_dir: PathBuf) -> Modules {
        Modules {
            jobs_build_dir,
            real_root: root.canonicalize().ok(),
        }
    }

    /// The built module of job `name`: `build/backend/jobs/<name>/index.js` (or `index.mjs`),
    /// which must resolve to a file inside the workspace.
    pub fn find(&self, name: &str) -> Result<PathBuf, ModuleError> {
        find_in(self.real_root.as_deref(), &self.jobs_build_dir, name)
    }
}

fn find_in(
    real_root: Option<&Path>,
    jobs_build_dir: &Path,
    name: &str,
) -> Result<PathBuf, ModuleError> {
    let mut parts = Path::new(name).components();
    let single_folder = matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    );
    if !single_folder {
        return Err(ModuleError::BadName);
    }
    let dir = jobs_build_dir.join(name);
    let candidates: Vec<PathBuf> = MODULE_FILE_NAMES.iter().map(|f| dir.join(f)).collect();
    let Some(found) = candidates.iter().find(|p| p.is_file()) else {
        return Err(ModuleError::NotFound {
            looked_for: candidates,
        });
    };
    match (found.canonicalize(), real_root) {
        (Ok(real), Some(root)) if real.starts_with(root) => Ok(found.clone()),
        _ => Err(ModuleError::OutsideWorkspace {
            path: found.clone(),
        }),
    }
}
