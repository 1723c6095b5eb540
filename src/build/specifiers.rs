//! Rewriting relative import specifiers to the files the build emits, because Node's ES module
//! loader needs the exact file name: `'../db/connection'` → `'../db/connection.js'`,
//! `'./x.ts'` → `'./x.js'`, `'./folder'` → `'./folder/index.js'`.

use std::collections::HashSet;

/// The source files of one build, as `/`-separated paths relative to `src/backend`.
#[derive(Debug, Default, Clone)]
pub struct SourceSet {
    files: HashSet<String>,
}

/// What to do with one specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Not relative, already names an emitted file, or points outside `src/backend`.
    Keep,
    Rewrite(String),
    /// A relative specifier without extension that matches no source file.
    NotFound {
        tried: Vec<String>,
    },
}

/// Extensions that name a file Node loads as it is; the build keeps such specifiers.
const RUNNABLE_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "json", "node"];

/// Candidates for an extensionless specifier, in TypeScript's lookup order, with the extension
/// the emitted file has.
const CANDIDATES: &[(&str, &str)] = &[
    (".ts", ".js"),
    (".mts", ".mjs"),
    (".js", ".js"),
    (".mjs", ".mjs"),
    ("/index.ts", "/index.js"),
    ("/index.mts", "/index.mjs"),
    ("/index.js", "/index.js"),
    ("/index.mjs", "/index.mjs"),
];

impl SourceSet {
    pub fn new(files: impl IntoIterator<Item = String>) -> SourceSet {
        SourceSet {
            files: files.into_iter().collect(),
        }
    }

    pub fn contains(&self, rel: &str) -> bool {
        self.files.contains(rel)
    }

    /// Resolves `specifier` as written in the file `importer` (both relative to `src/backend`).
    pub fn resolve(&self, importer: &str, specifier: &str) -> Resolution {
        if !is_relative(specifier) {
            return Resolution::Keep;
        }
        let importer_dir = importer.rsplit_once('/').map_or("", |(dir, _)| dir);
        let Some(target) = normalize(importer_dir, specifier) else {
            return Resolution::Keep;
        };
        let trimmed = specifier.trim_end_matches('/');
        let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
        let extension = last
            .rsplit_once('.')
            .map(|(_, ext)| ext)
            .filter(|_| !matches!(last, "." | ".."));
        match extension {
            Some("ts") if self.contains(&target) => {
                Resolution::Rewrite(format!("{}.js", &trimmed[..trimmed.len() - 3]))
            }
            Some("mts") if self.contains(&target) => {
                Resolution::Rewrite(format!("{}.mjs", &trimmed[..trimmed.len() - 4]))
            }
            Some(ext) if RUNNABLE_EXTENSIONS.contains(&ext) => Resolution::Keep,
            _ => self.resolve_extensionless(specifier, trimmed, &target),
        }
    }

    fn resolve_extensionless(&self, specifier: &str, trimmed: &str, target: &str) -> Resolution {
        let names_folder = specifier.ends_with('/')
            || matches!(trimmed.rsplit('/').next(), Some(".") | Some(".."));
        let mut tried = Vec::new();
        for (source_suffix, output_suffix) in CANDIDATES {
            if names_folder && !source_suffix.starts_with('/') {
                continue;
            }
            let candidate = if target.is_empty() {
                source_suffix.trim_start_matches('/').to_owned()
            } else {
                format!("{target}{source_suffix}")
            };
            if self.contains(&candidate) {
                return Resolution::Rewrite(format!("{trimmed}{output_suffix}"));
            }
            tried.push(format!("{trimmed}{source_suffix}"));
        }
        Resolution::NotFound { tried }
    }
}

fn is_relative(specifier: &str) -> bool {
    specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier == "."
        || specifier == ".."
}

/// Joins `dir` and the relative `specifier` into a path relative to `src/backend`, or `None`
/// when it climbs out of it (such imports are left alone: the build does not own their target).
fn normalize(dir: &str, specifier: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in specifier.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> SourceSet {
        SourceSet::new(
            [
                "db/connection.ts",
                "jobs/nightly/index.ts",
                "jobs/nightly/helpers.mts",
                "jobs/nightly/plain.js",
                "lib/index.ts",
                "index.ts",
                "util/index.js",
            ]
            .map(String::from),
        )
    }

    fn resolve(spec: &str) -> Resolution {
        set().resolve("jobs/nightly/index.ts", spec)
    }

    fn rewrite(s: &str) -> Resolution {
        Resolution::Rewrite(s.to_owned())
    }

    #[test]
    fn extensionless_relative_imports_get_the_emitted_extension() {
        assert_eq!(
            resolve("../../db/connection"),
            rewrite("../../db/connection.js")
        );
        assert_eq!(resolve("./helpers"), rewrite("./helpers.mjs"));
        assert_eq!(resolve("./plain"), rewrite("./plain.js"));
    }

    #[test]
    fn typescript_extensions_become_javascript_ones() {
        assert_eq!(
            resolve("../../db/connection.ts"),
            rewrite("../../db/connection.js")
        );
        assert_eq!(resolve("./helpers.mts"), rewrite("./helpers.mjs"));
    }

    #[test]
    fn folder_imports_point_at_their_index() {
        assert_eq!(resolve("../../lib"), rewrite("../../lib/index.js"));
        assert_eq!(resolve("../../lib/"), rewrite("../../lib/index.js"));
        assert_eq!(resolve("../../util"), rewrite("../../util/index.js"));
        assert_eq!(resolve("../.."), rewrite("../../index.js"));
    }

    #[test]
    fn emitted_names_bare_packages_and_outside_paths_are_kept() {
        assert_eq!(resolve("../../db/connection.js"), Resolution::Keep);
        assert_eq!(resolve("node:fs"), Resolution::Keep);
        assert_eq!(resolve("pg"), Resolution::Keep);
        assert_eq!(resolve("../../../../shared/x"), Resolution::Keep);
        assert_eq!(resolve("./data.json"), Resolution::Keep);
    }

    #[test]
    fn a_missing_module_lists_what_was_tried() {
        let Resolution::NotFound { tried } = resolve("./missing") else {
            panic!("expected NotFound");
        };
        assert_eq!(tried.first().map(String::as_str), Some("./missing.ts"));
        assert!(tried.contains(&"./missing/index.ts".to_owned()));
    }

    #[test]
    fn dotted_names_are_not_mistaken_for_extensions() {
        let set = SourceSet::new(["a/user.service.ts".to_owned()]);
        assert_eq!(
            set.resolve("a/b.ts", "./user.service"),
            rewrite("./user.service.js")
        );
    }
}
