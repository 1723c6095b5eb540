//! The scheduler: runs the manifest's jobs once, all, or on their schedules. (Owned by the
//! scheduler work.)

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("{0}")]
    Failed(String),
}
