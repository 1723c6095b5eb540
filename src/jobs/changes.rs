//! What a job command changes, or with `--dry-run` would change: the unified diff of
//! `package.json` and the files created, moved, deleted or deliberately left in place.

use std::path::PathBuf;

use similar::TextDiff;

/// Paths are relative to the workspace root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Unified diff of `package.json` (empty when it does not change).
    pub diff: String,
    pub created: Vec<PathBuf>,
    /// (from, to)
    pub moved: Vec<(PathBuf, PathBuf)>,
    pub deleted: Vec<PathBuf>,
    /// Job files that stay on disk although the job left the manifest.
    pub kept: Vec<PathBuf>,
}

/// The unified diff of two versions of `package.json`, with three lines of context, labelled
/// the way `git diff` labels them.
pub fn package_json_diff(old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("a/package.json", "b/package.json")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_has_headers_hunks_and_no_noise_when_equal() {
        let diff = package_json_diff("{\n  \"a\": 1\n}\n", "{\n  \"a\": 2\n}\n");
        assert!(diff.starts_with("--- a/package.json\n+++ b/package.json\n@@ -1,3 +1,3 @@\n"));
        assert!(diff.contains("\n-  \"a\": 1\n+  \"a\": 2\n"));
        assert_eq!(package_json_diff("x", "x"), "");
    }
}
