//! Finding the files under `src/backend` that the build turns into output, following
//! symbolic links only inside the workspace.

use std::fs;
use std::io;
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
    /// `.ts`, `.tsx`, `.jsx` → `.js`, `.mts` → `.mjs`, with a source map.
    Transpile,
    /// `.js`, `.mjs`, `.cjs`, `.json`: copied as they are.
    Copy,
    /// `.cts`: CommonJS TypeScript, which the build cannot emit (it emits ES modules only);
    /// an error rather than a file silently left out.
    Unsupported,
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
            Kind::Copy | Kind::Unsupported => self.rel.clone(),
            Kind::Transpile => match self.rel.rsplit_once('.') {
                Some((stem, "mts")) => format!("{stem}.mjs"),
                Some((stem, _)) => format!("{stem}.js"),
                None => format!("{}.js", self.rel),
            },
        }
    }

    /// Every file the build writes for this source, relative to `build/backend`.
    pub fn outputs(&self) -> Vec<String> {
        let output = self.output_rel();
        match self.kind {
            Kind::Unsupported => Vec::new(),
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
    if [".d.ts", ".d.mts", ".d.cts"]
        .iter()
        .any(|d| name.ends_with(d))
    {
        return None;
    }
    let (_, ext) = name.rsplit_once('.')?;
    match ext {
        "ts" | "mts" | "tsx" | "jsx" => Some(Kind::Transpile),
        "js" | "mjs" | "cjs" | "json" => Some(Kind::Copy),
        "cts" => Some(Kind::Unsupported),
        _ => None,
    }
}

/// Lists the build's inputs under `src_dir`, sorted by path.
///
/// Symbolic links are followed while they stay inside `workspace_root`, and what a link leads
/// to is built under the link's own path, as if it were a copy: a link `alib -> lib` builds
/// `lib/x.ts` to both `lib/x.js` and `alib/x.js`, so that neither path loses its output. A link
/// that leaves the workspace, leads nowhere, or leads to a folder that contains it (the walk
/// would never end) is an error naming the link.
pub fn discover(src_dir: &Path, workspace_root: &Path) -> Result<Vec<Source>, BuildError> {
    let root = fs::canonicalize(workspace_root).map_err(|e| BuildError::io(workspace_root, e))?;
    let mut found = Vec::new();
    let real = fs::canonicalize(src_dir).map_err(|e| BuildError::io(src_dir, e))?;
    let mut walk = Walk {
        root: &root,
        ancestors: Vec::new(),
        found: &mut found,
    };
    walk.dir(src_dir, real, "")?;
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

struct Walk<'a> {
    root: &'a Path,
    /// Canonical paths of the folders being walked, outermost first.
    ancestors: Vec<PathBuf>,
    found: &'a mut Vec<Source>,
}

impl Walk<'_> {
    /// Walks `dir`, whose canonical path is `real`. Canonical paths of plain subfolders are
    /// derived rather than asked of the file system; only symbolic links are resolved.
    fn dir(&mut self, dir: &Path, real: PathBuf, prefix: &str) -> Result<(), BuildError> {
        if !real.starts_with(self.root) {
            return Err(BuildError::SymlinkOutside {
                path: dir.to_path_buf(),
                target: real,
            });
        }
        let entries = fs::read_dir(dir).map_err(|e| BuildError::io(dir, e))?;
        self.ancestors.push(real.clone());
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
                entry_real = resolve_link(&path)?;
                if !entry_real.starts_with(self.root) {
                    return Err(BuildError::SymlinkOutside {
                        path,
                        target: entry_real,
                    });
                }
                file_type = fs::metadata(&entry_real)
                    .map_err(|e| BuildError::io(&path, e))?
                    .file_type();
                // A link to a folder being walked, or to one above it, would be walked
                // forever. Plain subfolders cannot loop, so checking links suffices.
                if file_type.is_dir() && self.ancestors.iter().any(|a| a.starts_with(&entry_real)) {
                    return Err(BuildError::SymlinkLoop {
                        path,
                        target: entry_real,
                    });
                }
            }
            if file_type.is_dir() {
                self.dir(&path, entry_real, &rel)?;
            } else if file_type.is_file()
                && let Some(kind) = classify(name)
            {
                self.found.push(Source { rel, kind });
            }
        }
        self.ancestors.pop();
        Ok(())
    }
}

/// The canonical target of the symbolic link `path`, or an error that names the link and
/// what it points at when that cannot be reached.
fn resolve_link(path: &Path) -> Result<PathBuf, BuildError> {
    fs::canonicalize(path).map_err(|e| {
        let target = fs::read_link(path).unwrap_or_default();
        let reason = if e.kind() == io::ErrorKind::NotFound {
            "which does not exist".to_owned()
        } else {
            format!("which cannot be followed: {e}")
        };
        BuildError::BrokenSymlink {
            path: path.to_path_buf(),
            target,
            reason,
        }
    })
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
        for (rel, out) in [("c.tsx", "c.js"), ("c.jsx", "c.js"), ("a.b.tsx", "a.b.js")] {
            let source = Source {
                rel: rel.into(),
                kind: Kind::Transpile,
            };
            assert_eq!(source.outputs(), [out.to_owned(), format!("{out}.map")]);
        }
        let json = Source {
            rel: "data.json".into(),
            kind: Kind::Copy,
        };
        assert_eq!(json.outputs(), ["data.json"]);
    }

    #[test]
    fn job_entry_files_are_exactly_the_sources_built_to_a_job_module() {
        for ext in [
            "ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs", "json", "d.ts",
        ] {
            let name = format!("index.{ext}");
            let builds_module = classify(&name).is_some_and(|kind| {
                let source = Source {
                    rel: name.clone(),
                    kind,
                };
                source
                    .outputs()
                    .first()
                    .is_some_and(|out| crate::runner::MODULE_FILE_NAMES.contains(&out.as_str()))
            });
            assert_eq!(
                crate::jobs::scaffold::ENTRY_FILES.contains(&name.as_str()),
                builds_module,
                "{name}"
            );
        }
    }

    #[test]
    fn declaration_files_and_other_extensions_are_skipped() {
        assert_eq!(classify("types.d.ts"), None);
        assert_eq!(classify("README.md"), None);
        assert_eq!(classify("a.ts"), Some(Kind::Transpile));
        assert_eq!(classify("a.mjs"), Some(Kind::Copy));
        assert_eq!(classify("a.cjs"), Some(Kind::Copy));
        assert_eq!(classify("a.tsx"), Some(Kind::Transpile));
        assert_eq!(classify("a.jsx"), Some(Kind::Transpile));
        assert_eq!(classify("a.cts"), Some(Kind::Unsupported));
        assert_eq!(classify("a.d.cts"), None);
    }
}
