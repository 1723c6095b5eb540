//! `webstir init api <dir>`: a new workspace from the embedded templates, written only into an
//! empty or new folder, and removed again if any file cannot be written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{PACKAGE_JSON, WorkspaceError};
use crate::Error;
use crate::fsutil;
use crate::templates;

/// Version of the module-manifest contract `init` writes.
pub const CONTRACT_VERSION: &str = "1.0.0";

/// Fallback package name for a folder whose name has nothing usable.
const DEFAULT_NAME: &str = "webstir-app";

/// (template, path relative to the workspace root) of every file `init api` writes.
const API_FILES: &[(&str, &str)] = &[
    ("init/package.json", PACKAGE_JSON),
    ("init/tsconfig.json", "tsconfig.json"),
    ("init/index.ts", "src/backend/index.ts"),
    ("init/env.ts", "src/backend/env.ts"),
    ("init/env.example", ".env.example"),
    ("init/gitignore", ".gitignore"),
];

/// The workspace `init` created.
#[derive(Debug, Clone)]
pub struct Initialized {
    pub root: PathBuf,
    /// The package (and module) name, derived from the folder name.
    pub name: String,
    /// Files written, relative to `root`, in the order written.
    pub files: Vec<PathBuf>,
}

/// Creates an `api` workspace in `dir`, which must be missing or an empty folder.
pub fn init_api(dir: &Path) -> Result<Initialized, Error> {
    let root = std::path::absolute(dir).map_err(|e| WorkspaceError::io(dir, e))?;
    check_target(&root)?;
    let name = package_name(&root);
    let data = json!({ "name": name, "contractVersion": CONTRACT_VERSION });
    // Render everything before touching the disk, so a template error writes nothing.
    let rendered = API_FILES
        .iter()
        .map(|(template, path)| Ok((*path, templates::render(template, &data)?)))
        .collect::<Result<Vec<_>, Error>>()?;

    let mut written = Written::default();
    match write_all(&root, &rendered, &mut written) {
        Ok(()) => Ok(Initialized {
            root,
            name,
            files: rendered
                .iter()
                .map(|(path, _)| PathBuf::from(path))
                .collect(),
        }),
        Err(e) => {
            written.undo();
            Err(e.into())
        }
    }
}

fn check_target(root: &Path) -> Result<(), WorkspaceError> {
    if fsutil::is_symlink(root) {
        return Err(WorkspaceError::Symlink {
            path: root.to_path_buf(),
        });
    }
    match fs::metadata(root) {
        Ok(meta) if !meta.is_dir() => Err(WorkspaceError::NotEmpty {
            path: root.to_path_buf(),
            reason: "it is a file, not a folder".into(),
        }),
        Ok(_) => {
            let mut entries = fs::read_dir(root).map_err(|e| WorkspaceError::io(root, e))?;
            match entries.next() {
                None => Ok(()),
                Some(entry) => {
                    let entry = entry.map_err(|e| WorkspaceError::io(root, e))?;
                    Err(WorkspaceError::NotEmpty {
                        path: root.to_path_buf(),
                        reason: format!(
                            "it already contains `{}`",
                            entry.file_name().to_string_lossy()
                        ),
                    })
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WorkspaceError::io(root, e)),
    }
}

/// An npm package name from the folder name: lowercase, URL-safe, no leading `.` or `_`.
pub fn package_name(root: &Path) -> String {
    let folder = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name = String::with_capacity(folder.len());
    for c in folder.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name
        .trim_start_matches(['.', '_', '-'])
        .trim_end_matches('-');
    let name: String = name.chars().take(214).collect();
    if name.is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        name
    }
}

/// What has been created so far, so that a failure part-way leaves nothing behind.
#[derive(Debug, Default)]
struct Written {
    files: Vec<PathBuf>,
    /// Folders created here, outermost first.
    dirs: Vec<PathBuf>,
}

impl Written {
    fn create_dir_all(&mut self, dir: &Path) -> Result<(), WorkspaceError> {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        for d in missing.into_iter().rev() {
            fs::create_dir(d).map_err(|e| WorkspaceError::io(d, e))?;
            self.dirs.push(d.to_path_buf());
        }
        Ok(())
    }

    fn undo(self) {
        for file in &self.files {
            let _ = fs::remove_file(file);
        }
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

fn write_all(
    root: &Path,
    rendered: &[(&str, String)],
    written: &mut Written,
) -> Result<(), WorkspaceError> {
    written.create_dir_all(root)?;
    for (relative, contents) in rendered {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            written.create_dir_all(parent)?;
        }
        fsutil::write_new(&path, contents.as_bytes()).map_err(|e| WorkspaceError::io(&path, e))?;
        written.files.push(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_npm_rules() {
        assert_eq!(package_name(Path::new("/tmp/my-service")), "my-service");
        assert_eq!(package_name(Path::new("/tmp/My Service!")), "my-service");
        assert_eq!(package_name(Path::new("/tmp/.hidden")), "hidden");
        assert_eq!(package_name(Path::new("/tmp/日本")), DEFAULT_NAME);
    }
}
