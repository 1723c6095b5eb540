//! Finding the files under `src/backend` that the build turns into output, without following
//! a symbolic link out of the workspace.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::BuildError;

/// Folder names the build never enters, besides names that start with `.`.
pub const SKIPPED_FOLDERS: &[&str] = &["node_modules"];

/// True for a file or folder name the build passes over.
pub fn is_skipped(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_FOLDERS.contains(&name)
}

/// How a source file becomes output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.ts` → `.js`, `.mts` → `.mjs`, with a source map.
    Transpile,
    /// `.js`, `.mjs`, `.json`: copied as they are.
    Copy,
}

/// One input file of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `/`-separated path relative to `src/backend`.
    pub rel: String,
    pub kind: Kind,
}

impl Source {
    /// The emitted file, relative to `build/backend`.
    pub fn output_rel(&self) -> String {
        match self.kind {
            Kind::Copy => self.rel.clone(),
            Kind::Transpile => match self.rel.strip_suffix(".mts") {
                Some(stem) => format!("{stem}.mjs"),
                None => format!("{}.js", self.rel.strip_suffix(".ts").unwrap_or(&self.rel)),
            },
        }
    }

    /// Every file the build writes for this source, relative to `build/backend`.
    pub fn outputs(&self) -> Vec<String> {
        let output = self.output_rel();
        match self.kind {
            Kind::Copy => vec![output],
            Kind::Transpile => {
                let map = format!("{output}.map");
                vec![output, map]
            }
        }
    }
}

fn classify(name: &str) -> Option<Kind> {
    // Declaration files describe types only and emit nothing.
    if name.ends_with(".d.ts") || name.ends_with(".d.mts") {
        return None;
    }
    let (_, ext) = name.rsplit_once('.')?;
    match ext {
        "ts" | "mts" => Some(Kind::Transpile),
        "js" | "mjs" | "json" => Some(Kind::Copy),
        _ => None,
    }
}

/// Lists the build's inputs under `src_dir`, sorted by path. Symbolic links are followed only
/// while they stay inside `workspace_root`; one that leaves it is an error.
pub fn discover(src_dir: &Path, workspace_root: &Path) -> Result<Vec<Source>, BuildError> {
    let root = fs::canonicalize(workspace_root).map_err(|e| BuildError::io(workspace_root, e))?;
    let mut found = Vec::new();
    let mut visited = HashSet::new();
    let real = fs::canonicalize(src_dir).map_err(|e| BuildError::io(src_dir, e))?;
    walk(src_dir, real, "", &root, &mut visited, &mut found)?;
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

/// Walks `dir`, whose canonical path is `real`. Canonical paths of plain subfolders are
/// derived rather than asked of the file system; only symbolic links are resolved.
fn walk(
    dir: &Path,
    real: PathBuf,
    prefix: &str,
    root: &Path,
    visited: &mut HashSet<PathBuf>,
    found: &mut Vec<Source>,
) -> Result<(), BuildError> {
    if !real.starts_with(root) {
        return Err(BuildError::SymlinkOutside {
            path: dir.to_path_buf(),
            target: real,
        });
    }
    // A link back to an ancestor would loop forever.
    if !visited.insert(real.clone()) {
        return Ok(());
    }
    let entries = fs::read_dir(dir).map_err(|e| BuildError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| BuildError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(BuildError::NonUtf8Name { path: entry.path() });
        };
        if is_skipped(name) {
            continue;
        }
        let path = entry.path();
        let rel = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        let mut file_type = entry.file_type().map_err(|e| BuildError::io(&path, e))?;
        let mut entry_real = real.join(name);
        if file_type.is_symlink() {
            entry_real = fs::canonicalize(&path).map_err(|e| BuildError::io(&path, e))?;
            if !entry_real.starts_with(root) {
                return Err(BuildError::SymlinkOutside {
                    path,
                    target: entry_real,
                });
            }
            file_type = fs::metadata(&entry_real)
                .map_err(|e| BuildError::io(&path, e))?
                .file_type();
        }
        if file_type.is_dir() {
            walk(&path, entry_real, &rel, root, visited, found)?;
        } else if file_type.is_file()
            && let Some(kind) = classify(name)
        {
            found.push(Source { rel, kind });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_follow_the_source_extension() {
        let ts = Source {
            rel: "jobs/a/index.ts".into(),
            kind: Kind::Transpile,
        };
        assert_eq!(ts.outputs(), ["jobs/a/index.js", "jobs/a/index.js.map"]);
        let mts = Source {
            rel: "x.mts".into(),
            kind: Kind::Transpile,
        };
        assert_eq!(mts.output_rel(), "x.mjs");
        let json = Source {
            rel: "data.json".into(),
            kind: Kind::Copy,
        };
        assert_eq!(json.outputs(), ["data.json"]);
    }

    #[test]
    fn declaration_files_and_other_extensions_are_skipped() {
        assert_eq!(classify("types.d.ts"), None);
        assert_eq!(classify("README.md"), None);
        assert_eq!(classify("a.ts"), Some(Kind::Transpile));
        assert_eq!(classify("a.mjs"), Some(Kind::Copy));
    }
}
