//! `webstir.toml`: workspace defaults for the scheduler. (Owned by the scheduler work.)

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(String),
}
