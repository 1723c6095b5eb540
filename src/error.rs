use std::process::ExitCode;

/// Every error a command can end with; each area keeps its own enum and this one only
/// gathers them so that `cli` renders them in one place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    Job(#[from] crate::jobs::JobError),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    #[error(transparent)]
    Scheduler(#[from] crate::scheduler::SchedulerError),
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error(transparent)]
    Start(#[from] crate::start::StartError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    /// An I/O failure outside any one area (writing a generated file, standard output).
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// Arguments that clap accepted but that do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// The command already reported what went wrong; only the exit status is left to set.
    #[error("command failed")]
    Reported,
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::from(2),
            // Naming a job that is not there is invalid input, like a bad flag.
            Error::Job(crate::jobs::JobError::NotFound { .. }) => ExitCode::from(2),
            Error::Export(e) if e.is_usage() => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }
}
