//! What one build did, and its one-line summary.

use std::time::Duration;

use serde::Serialize;

use super::Diagnostic;

#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    /// Sources built successfully (written or already up to date).
    pub files: usize,
    /// Of those, how many needed no new output.
    pub unchanged: usize,
    /// Sources that failed; their previous output, if any, was left in place.
    pub failed: usize,
    /// Sources deleted since the last build whose output was removed.
    pub removed: usize,
    /// Generated scheduler files (binary, shim) that were replaced.
    pub support_written: usize,
    /// Every error, file by file.
    pub diagnostics: Vec<Diagnostic>,
    /// Problems that do not fail the build but will trouble Node when it runs the output.
    pub warnings: Vec<String>,
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
}

impl BuildReport {
    pub(super) fn count(&mut self, changed: bool) {
        self.files += 1;
        if !changed {
            self.unchanged += 1;
        }
    }

    pub(super) fn fail(&mut self, diagnostics: Vec<Diagnostic>) {
        self.failed += 1;
        self.diagnostics.extend(diagnostics);
    }

    pub fn succeeded(&self) -> bool {
        self.failed == 0
    }

    /// `built 12 files (3 unchanged) in 45ms`, or, when some failed,
    /// `build failed: 2 errors in 1 file; built 11 files (3 unchanged) in 45ms`.
    pub fn summary(&self) -> String {
        let mut details = vec![format!("{} unchanged", self.unchanged)];
        if self.removed > 0 {
            details.push(format!("{} removed", self.removed));
        }
        let built = format!(
            "built {} ({}) in {}ms",
            plural(self.files, "file"),
            details.join(", "),
            self.elapsed.as_millis()
        );
        if self.succeeded() {
            built
        } else {
            format!(
                "build failed: {} in {}; {built}",
                plural(self.diagnostics.len(), "error"),
                plural(self.failed, "file")
            )
        }
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_as_sentences() {
        let mut r = BuildReport {
            files: 12,
            unchanged: 3,
            elapsed: Duration::from_millis(45),
            ..BuildReport::default()
        };
        assert_eq!(r.summary(), "built 12 files (3 unchanged) in 45ms");
        r.removed = 1;
        r.failed = 1;
        r.diagnostics
            .push(Diagnostic::whole_file("a.ts".into(), "broken"));
        assert_eq!(
            r.summary(),
            "build failed: 1 error in 1 file; built 12 files (3 unchanged, 1 removed) in 45ms"
        );
    }
}
