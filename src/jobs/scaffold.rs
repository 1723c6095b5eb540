//! The source folder of a job, `src/backend/jobs/<name>/index.ts`, created from the embedded
//! template and removed again when the rest of the command fails.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::JobError;
use crate::fsutil::{self, Created};
use crate::templates::{self, TemplateError};
use crate::workspace::Workspace;

/// The entry file `add-job` writes.
pub const ENTRY_FILE: &str = "index.ts";

/// Every entry file a job folder may have: `webstir build` turns `.ts`/`.tsx`/`.jsx`/`.mts`
/// into the `index.js`/`index.mjs` the scheduler imports, and copies those as they are (a test
/// in `build::sources` keeps this list in step with what the build emits).
pub const ENTRY_FILES: &[&str] = &[
    ENTRY_FILE,
    "index.tsx",
    "index.mts",
    "index.js",
    "index.jsx",
    "index.mjs",
];

/// The TypeScript source of a new job.
pub fn render_source(name: &str) -> Result<String, TemplateError> {
    templates::render("job/index.ts", &json!({ "name": name }))
}

/// `src/backend/jobs/<name>`
pub fn job_dir(workspace: &Workspace, name: &str) -> PathBuf {
    workspace.jobs_src_dir().join(name)
}

/// Checks that the job folder can be created without following a symlink or replacing
/// anything: `src`, `src/backend` and `src/backend/jobs` are real folders (or missing), and the
/// job's own folder does not exist in any form.
pub fn preflight(workspace: &Workspace, name: &str) -> Result<(), JobError> {
    for dir in parent_dirs(workspace) {
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(JobError::Symlink { path: dir });
            }
            Ok(meta) if !meta.is_dir() => return Err(JobError::NotAFolder { path: dir }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(JobError::io(dir, e)),
        }
    }
    let dir = job_dir(workspace, name);
    match fs::symlink_metadata(&dir) {
        Ok(_) => Err(JobError::FolderExists {
            path: relative(workspace, &dir),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JobError::io(dir, e)),
    }
}

fn parent_dirs(workspace: &Workspace) -> [PathBuf; 3] {
    [
        workspace.root().join("src"),
        workspace.backend_src_dir(),
        workspace.jobs_src_dir(),
    ]
}

/// `path` relative to the workspace root, for messages and reports.
pub fn relative(workspace: &Workspace, path: &Path) -> PathBuf {
    path.strip_prefix(workspace.root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A job folder this process created; [`Scaffold::undo`] removes exactly what was created.
#[derive(Debug)]
#[must_use = "a scaffold is either kept or undone"]
pub struct Scaffold {
    file: PathBuf,
    created: Created,
}

impl Scaffold {
    /// Creates the job folder (and missing parents) and writes `index.ts`. Call [`preflight`]
    /// first, under the workspace lock. On failure nothing created here is left behind.
    pub fn create(workspace: &Workspace, name: &str, source: &str) -> Result<Scaffold, JobError> {
        let mut scaffold = Scaffold {
            file: job_dir(workspace, name).join(ENTRY_FILE),
            created: Created::default(),
        };
        if let Err(e) = scaffold.build(workspace, name, source) {
            scaffold.undo();
            return Err(e);
        }
        Ok(scaffold)
    }

    fn build(&mut self, workspace: &Workspace, name: &str, source: &str) -> Result<(), JobError> {
        for dir in parent_dirs(workspace) {
            match self.created.create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if fsutil::is_symlink(&dir) {
                        return Err(JobError::Symlink { path: dir });
                    }
                }
                Err(e) => return Err(JobError::io(dir, e)),
            }
        }
        let dir = job_dir(workspace, name);
        match self.created.create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(JobError::FolderExists {
                    path: relative(workspace, &dir),
                });
            }
            Err(e) => return Err(JobError::io(dir, e)),
        }
        self.created
            .write_new(&self.file, source.as_bytes())
            .map_err(|e| JobError::io(&self.file, e))
    }

    /// The job's `index.ts`.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Removes the file and the folders this scaffold created, innermost first.
    pub fn undo(self) {
        self.created.undo();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_removes_only_what_was_created() {
        let temp = tempfile::tempdir().expect("temp dir");
        let ws = Workspace::at(temp.path());
        fs::create_dir_all(temp.path().join("src/backend")).expect("mkdir");
        fs::write(temp.path().join("src/backend/index.ts"), "x").expect("write");

        preflight(&ws, "cleanup").expect("nothing in the way");
        let scaffold = Scaffold::create(&ws, "cleanup", "source").expect("created");
        assert_eq!(fs::read_to_string(scaffold.file()).expect("read"), "source");
        scaffold.undo();

        assert!(!temp.path().join("src/backend/jobs").exists());
        assert!(temp.path().join("src/backend/index.ts").exists());
    }

    #[test]
    fn refuses_an_existing_folder_and_a_symlinked_jobs_folder() {
        let temp = tempfile::tempdir().expect("temp dir");
        let ws = Workspace::at(temp.path());
        fs::create_dir_all(temp.path().join("src/backend/jobs/cleanup")).expect("mkdir");
        assert!(matches!(
            preflight(&ws, "cleanup"),
            Err(JobError::FolderExists { .. })
        ));

        let other = tempfile::tempdir().expect("temp dir");
        fs::remove_dir_all(temp.path().join("src/backend/jobs")).expect("rm");
        std::os::unix::fs::symlink(other.path(), temp.path().join("src/backend/jobs"))
            .expect("symlink");
        assert!(matches!(
            preflight(&ws, "cleanup"),
            Err(JobError::Symlink { .. })
        ));
        assert!(matches!(
            Scaffold::create(&ws, "cleanup", "x"),
            Err(JobError::Symlink { .. })
        ));
        assert_eq!(fs::read_dir(other.path()).expect("read").count(), 0);
    }

    #[test]
    fn the_template_names_the_job() {
        let source = render_source("cleanup").expect("renders");
        assert!(source.contains("[job:cleanup] ran at ${at}"));
        assert!(source.contains("export async function run(...args: string[])"));
    }
}
