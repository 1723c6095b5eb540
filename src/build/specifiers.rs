//! Rewriting relative import specifiers to the files the build emits, because Node's ES module
//! loader needs the exact file name: `'../db/connection'` → `'../db/connection.js'`,
//! `'./x.ts'` → `'./x.js'`, `'./folder'` → `'./folder/index.js'`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::tsconfig::{TsConfig, normalize as normalize_path};

/// The source files of one build, as `/`-separated paths relative to `src/backend`, and the
/// module aliases of `tsconfig.json` that lead to them.
#[derive(Debug, Default, Clone)]
pub struct SourceSet {
    files: HashSet<String>,
    aliases: Option<Aliases>,
}

#[derive(Debug, Clone)]
struct Aliases {
    config: TsConfig,
    /// `src/backend`, absolute and lexically normalized like the alias targets.
    src_dir: PathBuf,
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
    /// A specifier that a `paths` pattern of `tsconfig.json` matches, but none of whose
    /// targets is a source file.
    AliasNotFound {
        pattern: String,
        tried: Vec<String>,
    },
}

/// Extensions that name a file Node loads as it is; the build keeps such specifiers.
const RUNNABLE_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "json", "node"];

/// Candidates for an extensionless specifier, in TypeScript's lookup order, with the extension
/// the emitted file has.
const CANDIDATES: &[(&str, &str)] = &[
    (".ts", ".js"),
    (".tsx", ".js"),
    (".mts", ".mjs"),
    (".js", ".js"),
    (".jsx", ".js"),
    (".mjs", ".mjs"),
    ("/index.ts", "/index.js"),
    ("/index.tsx", "/index.js"),
    ("/index.mts", "/index.mjs"),
    ("/index.js", "/index.js"),
    ("/index.jsx", "/index.js"),
    ("/index.mjs", "/index.mjs"),
];

/// Sources whose output has a given extension: `x.js` is emitted for `x.ts`, `x.tsx`, ...
const EMITTED_FROM: &[(&str, &[&str])] = &[
    ("js", &["js", "ts", "tsx", "jsx"]),
    ("mjs", &["mjs", "mts"]),
    ("cjs", &["cjs"]),
    ("json", &["json"]),
];

impl SourceSet {
    pub fn new(files: impl IntoIterator<Item = String>) -> SourceSet {
        SourceSet {
            files: files.into_iter().collect(),
            aliases: None,
        }
    }

    /// Resolves the aliases of `config` (`paths`, `baseUrl`) against the sources under
    /// `src_dir` too.
    pub fn with_aliases(mut self, config: TsConfig, src_dir: &Path) -> SourceSet {
        if !config.paths.is_empty() || config.base_url.is_some() {
            self.aliases = Some(Aliases {
                config,
                src_dir: normalize_path(src_dir),
            });
        }
        self
    }

    pub fn contains(&self, rel: &str) -> bool {
        self.files.contains(rel)
    }

    /// True when some source emits the file `rel` (relative to `build/backend`).
    fn emits(&self, rel: &str) -> bool {
        let Some((stem, ext)) = rel.rsplit_once('.') else {
            return false;
        };
        EMITTED_FROM
            .iter()
            .filter(|(out, _)| *out == ext)
            .flat_map(|(_, from)| from.iter())
            .any(|from| self.contains(&format!("{stem}.{from}")))
    }

    /// Resolves `specifier` as written in the file `importer` (both relative to `src/backend`).
    pub fn resolve(&self, importer: &str, specifier: &str) -> Resolution {
        if !is_relative(specifier) {
            return self.resolve_alias(importer, specifier);
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
            Some("tsx" | "jsx") if self.contains(&target) => {
                Resolution::Rewrite(format!("{}.js", &trimmed[..trimmed.len() - 4]))
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

impl SourceSet {
    /// A bare specifier that a `paths` pattern matches becomes the relative specifier of the
    /// first target that is a source, as tsc-alias and esbuild do; one that no pattern matches
    /// but that names a source under `baseUrl` too. Anything else is a package: kept.
    fn resolve_alias(&self, importer: &str, specifier: &str) -> Resolution {
        let Some(aliases) = &self.aliases else {
            return Resolution::Keep;
        };
        if let Some((alias, star)) = aliases.config.alias_for(specifier) {
            let mut tried = Vec::new();
            for target in alias.substitute(star) {
                match self.resolve_target(aliases, importer, &target) {
                    Ok(found) => return Resolution::Rewrite(found),
                    Err(mut looked_for) => tried.append(&mut looked_for),
                }
            }
            // A catch-all `*` also covers packages, which are no source files.
            if alias.pattern == "*" {
                return Resolution::Keep;
            }
            return Resolution::AliasNotFound {
                pattern: alias.pattern.clone(),
                tried,
            };
        }
        if let Some(base) = &aliases.config.base_url
            && let Ok(found) =
                self.resolve_target(aliases, importer, &normalize_path(&base.join(specifier)))
        {
            return Resolution::Rewrite(found);
        }
        Resolution::Keep
    }

    /// The relative specifier from `importer` to the source at the absolute path `target`, or
    /// what was looked for (relative to the workspace, as the user wrote the targets).
    fn resolve_target(
        &self,
        aliases: &Aliases,
        importer: &str,
        target: &Path,
    ) -> Result<String, Vec<String>> {
        let shown = || {
            let root = aliases.src_dir.parent().and_then(Path::parent);
            let path = root
                .and_then(|r| target.strip_prefix(r).ok())
                .unwrap_or(target);
            path.display().to_string()
        };
        let Some(rel) = target
            .strip_prefix(&aliases.src_dir)
            .ok()
            .and_then(|r| r.to_str())
            .map(|r| r.replace('\\', "/"))
        else {
            return Err(vec![format!(
                "{} (outside src/backend, which is all the build builds)",
                shown()
            )]);
        };
        let importer_dir = importer.rsplit_once('/').map_or("", |(dir, _)| dir);
        let relative = relative_specifier(importer_dir, &rel);
        match self.resolve(importer, &relative) {
            Resolution::Rewrite(found) => Ok(found),
            Resolution::Keep if self.emits(&rel) => Ok(relative),
            Resolution::NotFound { tried } => Err(tried
                .iter()
                .map(|t| {
                    format!(
                        "{}{}",
                        shown(),
                        t.strip_prefix(relative.trim_end_matches('/')).unwrap_or(t)
                    )
                })
                .collect()),
            _ => Err(vec![shown()]),
        }
    }
}

/// The relative specifier from the folder `from_dir` to `to` (both relative to `src/backend`).
fn relative_specifier(from_dir: &str, to: &str) -> String {
    let from: Vec<&str> = from_dir.split('/').filter(|p| !p.is_empty()).collect();
    let to_parts: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let up = from.len() - common;
    let rest = to_parts[common..].join("/");
    let head = if up == 0 {
        "./".to_owned()
    } else {
        "../".repeat(up)
    };
    if rest.is_empty() {
        head.trim_end_matches('/').to_owned()
    } else {
        format!("{head}{rest}")
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
    fn relative_specifiers_climb_only_as_far_as_needed() {
        assert_eq!(relative_specifier("jobs/a", "lib/enums"), "../../lib/enums");
        assert_eq!(relative_specifier("jobs/a", "jobs/a/x"), "./x");
        assert_eq!(relative_specifier("", "lib"), "./lib");
        assert_eq!(relative_specifier("lib", "lib"), ".");
        assert_eq!(relative_specifier("a/b", "a"), "..");
    }

    #[test]
    fn tsx_and_jsx_sources_are_found_and_emitted_as_js() {
        let set = SourceSet::new(["c.tsx".to_owned(), "d/index.jsx".to_owned()]);
        assert_eq!(set.resolve("a.ts", "./c"), rewrite("./c.js"));
        assert_eq!(set.resolve("a.ts", "./c.tsx"), rewrite("./c.js"));
        assert_eq!(set.resolve("a.ts", "./d"), rewrite("./d/index.js"));
        assert_eq!(
            set.resolve("a.ts", "./d/index.jsx"),
            rewrite("./d/index.js")
        );
        assert!(set.emits("c.js") && set.emits("d/index.js") && !set.emits("c.mjs"));
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
