//! `webstir init api <dir>`: a new workspace from the embedded templates, written only into an
//! empty or new folder, and removed again if any file cannot be written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{PACKAGE_JSON, WorkspaceError};
use crate::Error;
use crate::fsutil::{self, Created};
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
    ("init/tenants.ts", "src/backend/tenants.ts"),
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
    let root = super::absolute(dir)?;
    check_target(&root)?;
    let name = package_name(&root);
    let data = json!({ "name": name, "contractVersion": CONTRACT_VERSION });
    // Render everything before touching the disk, so a template error writes nothing.
    let rendered = API_FILES
        .iter()
        .map(|(template, path)| Ok((*path, templates::render(template, &data)?)))
        .collect::<Result<Vec<_>, Error>>()?;

    let mut created = Created::default();
    match write_all(&root, &rendered, &mut created) {
        Ok(()) => Ok(Initialized {
            root,
            name,
            files: rendered
                .iter()
                .map(|(path, _)| PathBuf::from(path))
                .collect(),
        }),
        Err(e) => {
            created.undo();
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
        Err(e) if e.kind() == io::ErrorKind::NotFound => check_missing_parents(root),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => check_missing_parents(root),
        Err(e) => Err(WorkspaceError::io(root, e)),
    }
}

/// The nearest existing ancestor of a missing `root` must be a folder, or `root` cannot be
/// created; said up front rather than as the system's "Not a directory".
fn check_missing_parents(root: &Path) -> Result<(), WorkspaceError> {
    let existing = root.ancestors().skip(1).find(|dir| dir.exists());
    match existing {
        Some(file) if !file.is_dir() => Err(WorkspaceError::NotEmpty {
            path: root.to_path_buf(),
            reason: format!("`{}` is a file, not a folder", file.display()),
        }),
        _ => Ok(()),
    }
}

/// Names npm refuses for a new package although their characters are fine: its blacklist and
/// Node's core modules (`validate-npm-package-name`, `validForNewPackages`).
const REFUSED_NAMES: &[&str] = &[
    "node_modules",
    "favicon.ico",
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "test",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// An npm package name from the folder name that npm accepts for a new package: lowercase,
/// URL-safe, no leading `.` or `_`, none of `~'!()*`, and not a blacklisted or core-module
/// name (`node_modules` becomes `node_modules-app`).
pub fn package_name(root: &Path) -> String {
    let folder = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name = String::with_capacity(folder.len());
    for c in folder.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name
        .trim_start_matches(['.', '_', '-'])
        .trim_end_matches('-');
    // 214 characters at most, with room for the suffix below.
    let name: String = name.chars().take(210).collect();
    if name.is_empty() {
        DEFAULT_NAME.to_owned()
    } else if REFUSED_NAMES.contains(&name.as_str()) {
        format!("{name}-app")
    } else {
        name
    }
}

fn write_all(
    root: &Path,
    rendered: &[(&str, String)],
    created: &mut Created,
) -> Result<(), WorkspaceError> {
    created
        .create_dir_all(root)
        .map_err(|e| WorkspaceError::io(root, e))?;
    for (relative, contents) in rendered {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            created
                .create_dir_all(parent)
                .map_err(|e| WorkspaceError::io(parent, e))?;
        }
        created
            .write_new(&path, contents.as_bytes())
            .map_err(|e| WorkspaceError::io(&path, e))?;
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
        assert_eq!(package_name(Path::new("/tmp/~home")), "home");
        assert_eq!(package_name(Path::new("/tmp/a(b)")), "a-b");
        assert_eq!(package_name(Path::new("/tmp/-dash")), "dash");
        assert_eq!(package_name(Path::new("/tmp/line\nbreak")), "line-break");
        assert_eq!(package_name(Path::new("/tmp/HTTP")), "http-app");
        assert_eq!(
            package_name(Path::new("/tmp/node_modules")),
            "node_modules-app"
        );
    }
}
