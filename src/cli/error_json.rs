//! A failure as JSON, for commands run with `--json`: `{"error": {"code", "message", "file",
//! "line", "column"}}` on standard output, so that editors and CI read it from the same stream
//! as a success. `code` is stable for scripts to branch on; `message` is the text form's.

use serde_json::{Value, json};

use crate::Error;
use crate::jobs::JobError;
use crate::manifest::ManifestError;
use crate::settings::SettingsError;
use crate::workspace::WorkspaceError;

/// The JSON object of `error`.
pub fn render(error: &Error) -> Value {
    let (file, line, column, message) = match error {
        Error::Manifest(ManifestError::Syntax {
            line,
            column,
            message,
        }) => (
            Some("package.json".to_owned()),
            Some(*line),
            Some(*column),
            message.clone(),
        ),
        Error::Settings(SettingsError::Syntax {
            path,
            line,
            column,
            message,
        }) => (
            Some(path.display().to_string()),
            Some(*line),
            Some(*column),
            message.clone(),
        ),
        Error::Manifest(_) => (
            Some("package.json".to_owned()),
            None,
            None,
            error.to_string(),
        ),
        other => (None, None, None, other.to_string()),
    };
    object(code(error), &message, file.as_deref(), line, column)
}

/// The error object from its parts, for a command that reports an error of its own area
/// (`build --watch` goes on after a failed build).
pub fn object(
    code: &str,
    message: &str,
    file: Option<&str>,
    line: Option<usize>,
    column: Option<usize>,
) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "file": file,
            "line": line,
            "column": column,
        }
    })
}

/// A short, stable name for what went wrong.
pub fn code(error: &Error) -> &'static str {
    match error {
        Error::Usage(_) => "usage",
        Error::Reported => "failed",
        Error::Workspace(WorkspaceError::NotFound { .. }) => "workspace-not-found",
        Error::Workspace(WorkspaceError::NotAWorkspace { .. }) => "not-a-workspace",
        Error::Workspace(WorkspaceError::Symlink { .. }) => "symlink",
        Error::Workspace(WorkspaceError::NotEmpty { .. }) => "folder-not-empty",
        Error::Workspace(WorkspaceError::Io { .. }) => "io",
        Error::Manifest(ManifestError::Syntax { .. }) => "manifest-syntax",
        Error::Manifest(ManifestError::Shape(_)) => "manifest-shape",
        Error::Manifest(ManifestError::Invalid(_)) => "manifest-invalid",
        Error::Job(JobError::InvalidName { .. }) => "invalid-job-name",
        Error::Job(JobError::Exists { .. }) => "job-exists",
        Error::Job(JobError::NotFound { .. }) => "job-not-found",
        Error::Job(JobError::Ambiguous { .. }) => "job-ambiguous",
        Error::Job(JobError::SameName { .. }) => "same-name",
        Error::Job(JobError::FolderExists { .. }) => "folder-exists",
        Error::Job(JobError::InvalidSchedule { .. }) => "invalid-schedule",
        Error::Job(JobError::InvalidTimezone(_)) => "invalid-timezone",
        Error::Job(JobError::Symlink { .. }) => "symlink",
        Error::Job(JobError::Io { .. }) => "io",
        Error::Job(_) => "invalid-job",
        Error::Schedule(_) => "invalid-schedule",
        Error::Scheduler(_) => "scheduler",
        Error::Build(_) => "build",
        Error::Settings(SettingsError::Syntax { .. }) => "settings-syntax",
        Error::Settings(_) => "settings",
        Error::Template(_) => "template",
        Error::Start(crate::start::StartError::NotBuilt { .. }) => "not-built",
        Error::Start(_) => "start",
        Error::Export(e) if e.is_usage() => "usage",
        Error::Export(_) => "export",
        Error::Io { .. } => "io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_carries_its_position_and_an_unknown_job_its_code() {
        let value = render(&Error::Manifest(ManifestError::Syntax {
            line: 3,
            column: 7,
            message: "expected `,` or `}`".into(),
        }));
        assert_eq!(
            value,
            json!({"error": {"code": "manifest-syntax", "message": "expected `,` or `}`",
                "file": "package.json", "line": 3, "column": 7}})
        );
        let value = render(&Error::Job(JobError::NotFound {
            name: "x".into(),
            suggestion: None,
        }));
        assert_eq!(value["error"]["code"], "job-not-found");
        assert_eq!(value["error"]["line"], Value::Null);
    }
}
