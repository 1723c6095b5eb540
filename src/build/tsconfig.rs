//! The parts of the workspace's `tsconfig.json` that change what the build emits: module
//! aliases (`compilerOptions.paths` and `baseUrl`) and how JSX is compiled (`jsx`,
//! `jsxImportSource`, `jsxFactory`, `jsxFragmentFactory`). The file is read as TypeScript reads
//! it: comments and trailing commas are allowed, and `extends` is followed.

use std::borrow::Cow;
use std::fs;
use std::path::{Component, Path, PathBuf};

use jsonc_parser::{JsonObject, JsonValue, ParseOptions};

use super::BuildError;

/// The file read, in the workspace root.
pub const FILE_NAME: &str = "tsconfig.json";

/// How deep `extends` may chain; deeper is taken for a cycle.
const MAX_EXTENDS: usize = 16;

/// What the build takes from `tsconfig.json`. The default is what an absent file means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsConfig {
    /// `compilerOptions.paths`, in the order written.
    pub paths: Vec<PathAlias>,
    /// `compilerOptions.baseUrl`, absolute and lexically normalized.
    pub base_url: Option<PathBuf>,
    pub jsx: Jsx,
}

/// One `paths` entry: `"@lib/*": ["./src/backend/lib/*"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAlias {
    /// The pattern as written (`@lib/*`), for messages.
    pub pattern: String,
    /// Text before the `*` (or the whole pattern when it has none).
    pub prefix: String,
    /// Text after the `*`; `None` for a pattern without `*`, which matches only itself.
    pub suffix: Option<String>,
    /// Each target as written, with the folder it is relative to.
    pub targets: Vec<(PathBuf, String)>,
}

impl PathAlias {
    /// The text `*` stands for when `specifier` matches this pattern.
    pub fn matches<'s>(&self, specifier: &'s str) -> Option<&'s str> {
        match &self.suffix {
            None => (specifier == self.prefix).then_some(""),
            Some(suffix) => specifier
                .strip_prefix(self.prefix.as_str())?
                .strip_suffix(suffix.as_str()),
        }
    }

    /// The candidate paths for a match, absolute and lexically normalized.
    pub fn substitute(&self, star: &str) -> Vec<PathBuf> {
        self.targets
            .iter()
            .map(|(base, target)| normalize(&base.join(target.replacen('*', star, 1))))
            .collect()
    }
}

/// The JSX options, as written; [`super::transpile`] turns them into transformer options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jsx {
    /// `react`, `react-jsx`, `react-jsxdev`, `preserve`, `react-native`, or unset.
    pub mode: Option<String>,
    pub import_source: Option<String>,
    pub factory: Option<String>,
    pub fragment_factory: Option<String>,
}

impl TsConfig {
    /// Reads `tsconfig.json` in `root`, or the defaults when there is none.
    pub fn load(root: &Path) -> Result<TsConfig, BuildError> {
        let path = root.join(FILE_NAME);
        if !path.is_file() {
            return Ok(TsConfig::default());
        }
        let mut config = TsConfig::default();
        let mut chain = Vec::new();
        read_into(&normalize(&path), root, &mut config, &mut chain)?;
        Ok(config)
    }

    /// The pattern that applies to `specifier`, as TypeScript picks it: a pattern without `*`
    /// that equals it, else the matching pattern with the longest prefix.
    pub fn alias_for<'s>(&self, specifier: &'s str) -> Option<(&PathAlias, &'s str)> {
        if let Some(exact) = self
            .paths
            .iter()
            .find(|p| p.suffix.is_none() && p.prefix == specifier)
        {
            return Some((exact, ""));
        }
        self.paths
            .iter()
            .filter(|p| p.suffix.is_some())
            .filter_map(|p| p.matches(specifier).map(|star| (p, star)))
            .max_by_key(|(p, _)| p.prefix.len())
    }

    /// A text that changes whenever an option that changes the output changes, so that the
    /// incremental build transpiles everything again.
    pub fn fingerprint(&self) -> String {
        format!("{self:?}")
    }
}

fn error(path: &Path, message: impl Into<String>) -> BuildError {
    BuildError::TsConfig {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Applies the file at `path` to `config`: first what it extends, then its own options.
fn read_into(
    path: &Path,
    root: &Path,
    config: &mut TsConfig,
    chain: &mut Vec<PathBuf>,
) -> Result<(), BuildError> {
    if chain.contains(&path.to_path_buf()) || chain.len() > MAX_EXTENDS {
        return Err(error(path, "`extends` leads back to this file"));
    }
    chain.push(path.to_path_buf());
    let text = fs::read_to_string(path).map_err(|e| BuildError::io(path, e))?;
    let options = ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        ..ParseOptions::default()
    };
    let value =
        jsonc_parser::parse_to_value(&text, &options).map_err(|e| error(path, e.to_string()))?;
    let Some(JsonValue::Object(object)) = value else {
        return Err(error(path, "the file must hold a JSON object"));
    };
    let dir = path.parent().unwrap_or(root).to_path_buf();
    match object.get("extends") {
        None => {}
        Some(JsonValue::String(base)) => extend(base, &dir, path, root, config, chain)?,
        Some(JsonValue::Array(bases)) => {
            for base in bases.iter() {
                let JsonValue::String(base) = base else {
                    return Err(error(
                        path,
                        "`extends` must be a string or an array of strings",
                    ));
                };
                extend(base, &dir, path, root, config, chain)?;
            }
        }
        Some(_) => {
            return Err(error(
                path,
                "`extends` must be a string or an array of strings",
            ));
        }
    }
    match object.get("compilerOptions") {
        None => {}
        Some(JsonValue::Object(options)) => apply(options, &dir, path, config)?,
        Some(_) => return Err(error(path, "`compilerOptions` must be an object")),
    }
    chain.pop();
    Ok(())
}

/// Follows one `extends` entry: a path relative to the extending file, or a package in the
/// workspace's `node_modules` (`@tsconfig/node20/tsconfig.json`).
fn extend(
    base: &str,
    dir: &Path,
    from: &Path,
    root: &Path,
    config: &mut TsConfig,
    chain: &mut Vec<PathBuf>,
) -> Result<(), BuildError> {
    let start = if base.starts_with("./") || base.starts_with("../") || base.starts_with('/') {
        dir.join(base)
    } else {
        root.join("node_modules").join(base)
    };
    let candidates = [
        start.clone(),
        PathBuf::from(format!("{}.json", start.display())),
        start.join(FILE_NAME),
    ];
    let Some(found) = candidates.iter().find(|c| c.is_file()) else {
        return Err(error(
            from,
            format!("`extends` names `{base}`, which does not exist"),
        ));
    };
    read_into(&normalize(found), root, config, chain)
}

fn apply(
    options: &JsonObject<'_>,
    dir: &Path,
    path: &Path,
    config: &mut TsConfig,
) -> Result<(), BuildError> {
    if let Some(base_url) = string_option(options, "baseUrl", path)? {
        config.base_url = Some(normalize(&dir.join(base_url.as_ref())));
    }
    if let Some(paths) = options.get("paths") {
        // Targets are relative to `baseUrl` when there is one, else to this file's folder.
        let base = config.base_url.clone().unwrap_or_else(|| dir.to_path_buf());
        config.paths = read_paths(paths, &base, path)?;
    }
    let jsx = &mut config.jsx;
    for (key, slot) in [
        ("jsx", &mut jsx.mode),
        ("jsxImportSource", &mut jsx.import_source),
        ("jsxFactory", &mut jsx.factory),
        ("jsxFragmentFactory", &mut jsx.fragment_factory),
    ] {
        if let Some(value) = string_option(options, key, path)? {
            *slot = Some(value.into_owned());
        }
    }
    Ok(())
}

fn string_option<'v>(
    options: &'v JsonObject<'_>,
    key: &str,
    path: &Path,
) -> Result<Option<Cow<'v, str>>, BuildError> {
    match options.get(key) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(s)) => Ok(Some(Cow::Borrowed(s.as_ref()))),
        Some(_) => Err(error(
            path,
            format!("`compilerOptions.{key}` must be a string"),
        )),
    }
}

fn read_paths(
    value: &JsonValue<'_>,
    base: &Path,
    path: &Path,
) -> Result<Vec<PathAlias>, BuildError> {
    let JsonValue::Object(paths) = value else {
        return Err(error(path, "`compilerOptions.paths` must be an object"));
    };
    let mut aliases = Vec::new();
    for (pattern, targets) in paths.clone().into_iter() {
        let shape = |what: &str| {
            error(
                path,
                format!("`compilerOptions.paths` entry `{pattern}`: {what}"),
            )
        };
        let (prefix, suffix) = match pattern.split_once('*') {
            None => (pattern.to_string(), None),
            Some((_, after)) if after.contains('*') => {
                return Err(shape("a pattern may have at most one `*`"));
            }
            Some((before, after)) => (before.to_owned(), Some(after.to_owned())),
        };
        let JsonValue::Array(targets) = targets else {
            return Err(shape("the targets must be an array of strings"));
        };
        let mut list = Vec::new();
        for target in targets.iter() {
            let JsonValue::String(target) = target else {
                return Err(shape("the targets must be an array of strings"));
            };
            if target.matches('*').count() > 1 {
                return Err(shape("a target may have at most one `*`"));
            }
            list.push((base.to_path_buf(), target.to_string()));
        }
        aliases.push(PathAlias {
            pattern: pattern.to_string(),
            prefix,
            suffix,
            targets: list,
        });
    }
    aliases.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    Ok(aliases)
}

/// Removes `.` and resolves `..` without asking the file system, as TypeScript does with
/// these paths.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<TsConfig, BuildError> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        }
        let config = TsConfig::load(dir.path());
        config.map(|mut c| {
            // Paths in the result are under the temporary folder; make them comparable.
            for alias in &mut c.paths {
                for (base, _) in &mut alias.targets {
                    *base = base.strip_prefix(dir.path()).expect("inside").to_path_buf();
                }
            }
            c.base_url = c
                .base_url
                .map(|b| b.strip_prefix(dir.path()).expect("inside").to_path_buf());
            c
        })
    }

    #[test]
    fn reads_comments_trailing_commas_and_extends() {
        let config = load(&[
            (
                "tsconfig.json",
                "{\n  // the app\n  \"extends\": \"./config/base.json\",\n  \"compilerOptions\": { \"jsx\": \"react-jsx\", },\n}\n",
            ),
            (
                "config/base.json",
                "{ \"compilerOptions\": { \"baseUrl\": \"..\", \"paths\": { \"@lib/*\": [\"src/backend/lib/*\"] }, \"jsx\": \"react\", \"jsxImportSource\": \"preact\" } }",
            ),
        ])
        .expect("valid");
        assert_eq!(config.base_url, Some(PathBuf::new()));
        assert_eq!(config.jsx.mode.as_deref(), Some("react-jsx"));
        assert_eq!(config.jsx.import_source.as_deref(), Some("preact"));
        let (alias, star) = config.alias_for("@lib/enums").expect("matches");
        assert_eq!(star, "enums");
        assert_eq!(
            alias.targets,
            [(PathBuf::new(), "src/backend/lib/*".to_owned())]
        );
    }

    #[test]
    fn the_longest_prefix_wins_and_exact_patterns_come_first() {
        let config = load(&[(
            "tsconfig.json",
            r#"{ "compilerOptions": { "paths": { "*": ["x/*"], "@a/*": ["a/*"], "@a/b/*": ["b/*"], "@a/b/c": ["c"] } } }"#,
        )])
        .expect("valid");
        let pick = |s| {
            config
                .alias_for(s)
                .map(|(a, star)| (a.pattern.clone(), star.to_owned()))
        };
        assert_eq!(pick("@a/b/x"), Some(("@a/b/*".into(), "x".into())));
        assert_eq!(pick("@a/x"), Some(("@a/*".into(), "x".into())));
        assert_eq!(pick("@a/b/c"), Some(("@a/b/c".into(), String::new())));
        assert_eq!(pick("pg"), Some(("*".into(), "pg".into())));
    }

    #[test]
    fn malformed_files_are_errors_that_name_the_file() {
        let err = load(&[(
            "tsconfig.json",
            "{ \"compilerOptions\": { \"paths\": [] } }",
        )])
        .expect_err("paths must be an object");
        assert!(
            err.to_string()
                .contains("`compilerOptions.paths` must be an object"),
            "{err}"
        );
        let err = load(&[("tsconfig.json", "{ \"compilerOptions\": { ")]).expect_err("syntax");
        assert!(err.to_string().contains("tsconfig.json: "), "{err}");
        let err = load(&[("tsconfig.json", "{ \"extends\": \"./nope\" }")]).expect_err("missing");
        assert!(
            err.to_string()
                .contains("`extends` names `./nope`, which does not exist"),
            "{err}"
        );
        let err =
            load(&[("tsconfig.json", "{ \"extends\": \"./tsconfig.json\" }")]).expect_err("cycle");
        assert!(err.to_string().contains("leads back to this file"), "{err}");
    }

    #[test]
    fn no_file_means_the_defaults() {
        assert_eq!(load(&[]).expect("none"), TsConfig::default());
    }
}
