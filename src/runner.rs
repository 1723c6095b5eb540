//! Running one job in a Node.js child process. (Owned by the scheduler work.)

use std::io;
use std::path::{Path, PathBuf};

/// File name of the Node runner script inside `build/backend/jobs/`.
pub const RUNNER_FILE_NAME: &str = "webstir-runner.mjs";

/// Writes the runner script (rendered from `templates/runner/runner.mjs.hbs`) into
/// `jobs_build_dir`, rewriting it only when its content differs, and returns its path.
pub fn install_runner_script(jobs_build_dir: &Path) -> io::Result<PathBuf> {
    let path = jobs_build_dir.join(RUNNER_FILE_NAME);
    let script = crate::templates::render("runner/runner.mjs", &serde_json::json!({}))
        .map_err(io::Error::other)?;
    if std::fs::read_to_string(&path).ok().as_deref() != Some(script.as_str()) {
        std::fs::create_dir_all(jobs_build_dir)?;
        crate::fsutil::write_atomic(&path, script.as_bytes())?;
    }
    Ok(path)
}
