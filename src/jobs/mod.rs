//! Jobs as source code: validating and normalizing names, and scaffolding a job's folder.
//! (Owned by the foundation work.)

pub mod naming;

pub use naming::{canonical_key, to_snake_case};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid job name `{name}`: {rule}")]
    InvalidName { name: String, rule: String },
}
